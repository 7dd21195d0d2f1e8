// The Asio/Beast names the server's private files share. Nothing outside proxy/src sees Beast.
#pragma once

#include <chrono>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace purser::proxy {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using ms = std::chrono::milliseconds;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

}  // namespace purser::proxy
