// A plain blocking HTTP/1.1 client for tests (POSIX sockets, no library of the daemon's): a
// GET on a fresh connection, and raw connections for tests that misbehave on purpose.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace aismi::test {

struct HttpResponse {
    int status = 0;  // 0: no answer (error says why)
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
    std::string error;
};

/// A loopback TCP port nobody listens on just now (for a server a test starts).
int freeLoopbackPort();
/// "127.0.0.1:9400" or "[::1]:9400" -> a connected TCP socket, or -1.
int connectTcp(const std::string& hostPort);
/// Sends `request` as it is and reads until the server closes or `timeoutMs` passes.
HttpResponse httpExchange(const std::string& hostPort, const std::string& request, int timeoutMs = 10000);
/// GET `target` with `Connection: close` and any extra header lines ("Accept: ...").
HttpResponse httpGet(const std::string& hostPort, const std::string& target, const std::vector<std::string>& headers = {}, int timeoutMs = 10000);
/// Parses a whole HTTP/1.1 response (status line, headers, body after the blank line).
HttpResponse parseResponse(const std::string& raw);

}  // namespace aismi::test
