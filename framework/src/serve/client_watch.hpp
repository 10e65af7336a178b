#pragma once
// Whether the client of a request is still connected, for a handler that
// waits a long time before writing anything (a non-streamed completion).
// cpp-httplib 0.11 gives a handler neither its socket nor a "connection
// closed" flag, so the socket is found by its address pair: the connection
// whose local and peer addresses are the request's. While the handler runs,
// httplib keeps that socket open, so the descriptor cannot be reused.
#include <httplib.h>

namespace tessel::serve {

class ClientWatch {
 public:
  explicit ClientWatch(const httplib::Request& req);
  // True once the peer has closed or reset the connection. Never true when
  // the socket could not be found (the request then simply runs to its end).
  bool gone() const;

 private:
  int fd_ = -1;
};

}  // namespace tessel::serve
