// The Asio/Beast names the server's private files share. Nothing outside proxy/src sees Beast.
//
// Every I/O object names the io_context's own executor type rather than any_io_executor: each
// connection lives on one worker's io_context (see server_state.hpp), so the type-erased
// executor would only add an indirect call and a reference count to every operation.
#pragma once

#include <chrono>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
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

using io_executor = net::io_context::executor_type;
using tcp_socket = tcp::socket::rebind_executor<io_executor>::other;
using tcp_stream = beast::basic_stream<tcp, io_executor>;
using tls_stream = beast::ssl_stream<tcp_stream>;
using tcp_resolver = tcp::resolver::rebind_executor<io_executor>::other;
using steady_timer = net::steady_timer::rebind_executor<io_executor>::other;

}  // namespace purser::proxy
