// The third-party headers nearly every test parses (doctest, gRPC, protobuf and the generated
// messages, Asio, JSON, the standard library), compiled once for the whole test_objects target.
// Only headers that declare nothing of aexd's own, so that a test sees the names it includes.
#include <doctest/doctest.h>
#include <grpcpp/grpcpp.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ai/stigmer/agentic/agent/v1/agent.grpc.pb.h"
#include "ai/stigmer/agentic/agentexecution/v1/agentexecution.grpc.pb.h"
#include "ai/stigmer/agentic/agentinstance/v1/agentinstance.grpc.pb.h"
#include "ai/stigmer/agentic/session/v1/session.grpc.pb.h"
