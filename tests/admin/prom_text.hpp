// A strict parser of the Prometheus text exposition format (version 0.0.4), for tests: it
// refuses what Prometheus's own parser refuses and a little more (anything the format leaves
// loose, such as runs of spaces, is refused), so output that passes here is safe to scrape.
//
// Checked: every line ends in LF (no CR, last line too); `# HELP name text` (escapes \\ and \n
// only) and `# TYPE name counter|gauge|histogram|summary|untyped`, at most once per family and
// TYPE before the family's first sample; metric and label names by their grammar, no label name
// starting "__", no label twice in a sample; label values in double quotes with only \\, \" and
// \n escapes and valid UTF-8; values Go-float syntax or +Inf/-Inf/NaN; the samples of a family
// in one contiguous group; no sample (name and label set) twice; histograms with ascending `le`,
// non-decreasing cumulative counts, a +Inf bucket equal to _count, and a _sum.
#pragma once

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace purser::test::prom {

struct sample {
    std::string name;
    std::map<std::string, std::string> labels;
    std::string value;  ///< As written (amounts compare exactly as text).
};

struct family {
    std::string type = "untyped";
    std::string help;
    bool typed = false;
    std::vector<sample> samples;
};

using exposition = std::map<std::string, family>;

struct parse_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace detail {

inline bool name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
inline bool name_char(char c) { return name_start(c) || std::isdigit(static_cast<unsigned char>(c)); }

inline bool valid_metric_name(std::string_view s) {
    if (s.empty() || !name_start(s[0])) return false;
    for (char c : s) if (!name_char(c)) return false;
    return true;
}

inline bool valid_label_name(std::string_view s) {
    if (s.empty() || s[0] == ':' || !name_start(s[0])) return false;
    for (char c : s) if (c == ':' || !name_char(c)) return false;
    return s.substr(0, 2) != "__";
}

inline bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1Fu) : n == 3 ? (c & 0x0Fu) : (c & 0x07u);
        for (std::size_t k = 1; k < n; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (b & 0x3Fu);
        }
        const std::uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n;
    }
    return true;
}

/// Go's ParseFloat syntax as Prometheus accepts it, plus the special values.
inline bool valid_value(const std::string& v) {
    if (v == "+Inf" || v == "-Inf" || v == "NaN") return true;
    if (v.empty()) return false;
    for (char c : v) {
        if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' ||
              c == '+' || c == '-'))
            return false;
    }
    char* end = nullptr;
    (void)std::strtod(v.c_str(), &end);
    return end == v.c_str() + v.size();
}

inline double number(const std::string& v) {
    if (v == "+Inf") return INFINITY;
    if (v == "-Inf") return -INFINITY;
    return std::strtod(v.c_str(), nullptr);
}

inline std::string unescape_help(std::string_view s, std::size_t line) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\') { out += s[i]; continue; }
        if (++i == s.size()) throw parse_error("line " + std::to_string(line) + ": dangling escape in HELP");
        if (s[i] == '\\') out += '\\';
        else if (s[i] == 'n') out += '\n';
        else throw parse_error("line " + std::to_string(line) + ": bad escape in HELP");
    }
    return out;
}

/// The family a sample name belongs to: histogram samples end in _bucket, _sum, _count.
inline std::string family_of(const std::string& name, const exposition& typed) {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string_view sfx = suffix;
        if (name.size() > sfx.size() && name.compare(name.size() - sfx.size(), sfx.size(), sfx) == 0) {
            const std::string base = name.substr(0, name.size() - sfx.size());
            auto it = typed.find(base);
            if (it != typed.end() && (it->second.type == "histogram" || it->second.type == "summary"))
                return base;
        }
    }
    return name;
}

inline void check_histogram(const std::string& name, const family& f) {
    std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>> buckets;
    std::map<std::map<std::string, std::string>, double> counts;
    std::set<std::map<std::string, std::string>> sums;
    for (const auto& s : f.samples) {
        auto labels = s.labels;
        if (s.name == name + "_bucket") {
            auto le = labels.find("le");
            if (le == labels.end()) throw parse_error(name + ": bucket without le");
            if (!valid_value(le->second)) throw parse_error(name + ": bad le " + le->second);
            const double bound = number(le->second);
            labels.erase(le);
            buckets[labels].emplace_back(bound, number(s.value));
        } else if (s.name == name + "_count") {
            counts[labels] = number(s.value);
        } else if (s.name == name + "_sum") {
            sums.insert(labels);
        } else {
            throw parse_error(name + ": sample " + s.name + " in a histogram");
        }
    }
    if (buckets.empty()) throw parse_error(name + ": histogram without buckets");
    for (const auto& [labels, list] : buckets) {
        for (std::size_t i = 1; i < list.size(); ++i) {
            if (!(list[i].first > list[i - 1].first)) throw parse_error(name + ": le not ascending");
            if (list[i].second < list[i - 1].second) throw parse_error(name + ": buckets not cumulative");
        }
        if (!std::isinf(list.back().first)) throw parse_error(name + ": no +Inf bucket");
        auto c = counts.find(labels);
        if (c == counts.end()) throw parse_error(name + ": no _count");
        if (c->second != list.back().second) throw parse_error(name + ": +Inf bucket != _count");
        if (!sums.count(labels)) throw parse_error(name + ": no _sum");
    }
}

}  // namespace detail

/// Parses `text`; throws parse_error naming the line on anything the format does not allow.
inline exposition parse(std::string_view text) {
    using namespace detail;
    exposition out;
    std::set<std::string> finished;  // families whose sample group has ended
    std::string current;             // family of the previous sample
    std::set<std::pair<std::string, std::map<std::string, std::string>>> seen;
    if (!text.empty() && text.back() != '\n') throw parse_error("the last line does not end in LF");
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        const auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        const auto where = [&] { return "line " + std::to_string(line_no) + ": "; };
        if (line.find('\r') != std::string_view::npos) throw parse_error(where() + "CR in a line");
        if (line.empty()) continue;
        if (line[0] == '#') {
            if (line.rfind("# HELP ", 0) != 0 && line.rfind("# TYPE ", 0) != 0) continue;  // comment
            const bool help = line[2] == 'H';
            std::string_view rest = line.substr(7);
            const auto sp = rest.find(' ');
            const std::string name(rest.substr(0, sp));
            if (!valid_metric_name(name)) throw parse_error(where() + "bad metric name '" + name + "'");
            if (sp == std::string_view::npos) throw parse_error(where() + "HELP/TYPE without text");
            const std::string_view value = rest.substr(sp + 1);
            family& f = out[name];
            if (finished.count(name) || current == name)
                throw parse_error(where() + "HELP/TYPE after samples of " + name);
            if (help) {
                if (!f.help.empty()) throw parse_error(where() + "second HELP for " + name);
                f.help = unescape_help(value, line_no);
                if (f.help.empty()) f.help = " ";
            } else {
                if (f.typed) throw parse_error(where() + "second TYPE for " + name);
                static const std::set<std::string, std::less<>> types = {"counter", "gauge", "histogram",
                                                                         "summary", "untyped"};
                if (!types.count(value)) throw parse_error(where() + "unknown type '" + std::string(value) + "'");
                f.type = std::string(value);
                f.typed = true;
            }
            continue;
        }
        // A sample: name [{labels}] value [timestamp]
        std::size_t i = 0;
        while (i < line.size() && name_char(line[i])) ++i;
        sample s;
        s.name = std::string(line.substr(0, i));
        if (!valid_metric_name(s.name)) throw parse_error(where() + "bad metric name");
        if (i < line.size() && line[i] == '{') {
            ++i;
            bool first = true;
            while (true) {
                if (i >= line.size()) throw parse_error(where() + "unterminated labels");
                if (line[i] == '}') { ++i; break; }
                if (!first) {
                    if (line[i] != ',') throw parse_error(where() + "expected ','");
                    ++i;
                    if (i < line.size() && line[i] == '}') { ++i; break; }  // trailing comma
                }
                first = false;
                const std::size_t start = i;
                while (i < line.size() && name_char(line[i])) ++i;
                const std::string label(line.substr(start, i - start));
                if (!valid_label_name(label)) throw parse_error(where() + "bad label name '" + label + "'");
                if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"')
                    throw parse_error(where() + "expected =\" after " + label);
                i += 2;
                std::string value;
                while (true) {
                    if (i >= line.size()) throw parse_error(where() + "unterminated label value");
                    const char c = line[i++];
                    if (c == '"') break;
                    if (c != '\\') { value += c; continue; }
                    if (i >= line.size()) throw parse_error(where() + "dangling escape");
                    const char e = line[i++];
                    if (e == '\\') value += '\\';
                    else if (e == '"') value += '"';
                    else if (e == 'n') value += '\n';
                    else throw parse_error(where() + "bad escape \\" + std::string(1, e));
                }
                if (!valid_utf8(value)) throw parse_error(where() + "label value is not UTF-8");
                if (!s.labels.emplace(label, value).second)
                    throw parse_error(where() + "label " + label + " twice");
            }
        }
        if (i >= line.size() || line[i] != ' ') throw parse_error(where() + "expected one space before the value");
        ++i;
        std::string_view rest = line.substr(i);
        const auto sp = rest.find(' ');
        s.value = std::string(rest.substr(0, sp));
        if (!valid_value(s.value)) throw parse_error(where() + "bad value '" + s.value + "'");
        if (sp != std::string_view::npos) {
            const std::string ts(rest.substr(sp + 1));
            if (ts.empty() || ts.find_first_not_of("-0123456789") != std::string::npos)
                throw parse_error(where() + "bad timestamp '" + ts + "'");
        }
        const std::string fam = family_of(s.name, out);
        if (fam != current) {
            if (finished.count(fam)) throw parse_error(where() + "samples of " + fam + " are not contiguous");
            if (!current.empty()) finished.insert(current);
            current = fam;
        }
        if (!seen.emplace(s.name, s.labels).second) throw parse_error(where() + "duplicate sample " + s.name);
        family& f = out[fam];
        if (f.type == "counter" && s.value.rfind('-', 0) == 0) throw parse_error(where() + "negative counter");
        f.samples.push_back(std::move(s));
    }
    for (const auto& [name, f] : out) {
        if (f.type == "histogram") detail::check_histogram(name, f);
    }
    return out;
}

/// The value of the sample `name` with exactly `labels`; nullopt when absent.
inline std::optional<std::string> value_of(const exposition& e, const std::string& family_name,
                                           const std::string& name,
                                           const std::map<std::string, std::string>& labels = {}) {
    auto f = e.find(family_name);
    if (f == e.end()) return std::nullopt;
    for (const auto& s : f->second.samples)
        if (s.name == name && s.labels == labels) return s.value;
    return std::nullopt;
}

}  // namespace purser::test::prom
