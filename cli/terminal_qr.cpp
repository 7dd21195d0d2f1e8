#include "terminal_qr.hpp"

#include <qrencode.h>

#include <memory>
#include <vector>

namespace purser::cli {

result<std::string> terminal_qr(const std::string& text) {
    std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
        QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), &QRcode_free);
    if (!code) return fail(std::make_error_code(std::errc::value_too_large), "cannot draw a QR code of that text");
    constexpr int quiet = 4;
    const int n = code->width;
    const int side = n + 2 * quiet;
    // light[y][x]: true for a light module, the quiet zone included.
    auto light = [&](int x, int y) {
        const int cx = x - quiet;
        const int cy = y - quiet;
        if (cx < 0 || cy < 0 || cx >= n || cy >= n) return true;
        return (code->data[cy * n + cx] & 1) == 0;  // bit 0: dark module
    };
    std::string out;
    for (int y = 0; y < side; y += 2) {
        for (int x = 0; x < side; ++x) {
            const bool top = light(x, y);
            const bool bottom = y + 1 < side ? light(x, y + 1) : false;
            out += top && bottom ? "\u2588" : top ? "\u2580" : bottom ? "\u2584" : " ";
        }
        out += "\n";
    }
    return out;
}

}  // namespace purser::cli
