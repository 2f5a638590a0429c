#include "device_executor.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <map>

namespace aismi {

using Strand = boost::asio::strand<boost::asio::thread_pool::executor_type>;

struct DeviceExecutor::Impl {
    Impl(boost::asio::io_context& l, unsigned threads) : loop(l), pool(threads) {}
    boost::asio::io_context& loop;
    boost::asio::thread_pool pool;
    std::map<std::string, std::unique_ptr<Strand>> strands;
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);
};

DeviceExecutor::DeviceExecutor(boost::asio::io_context& loop, unsigned threads) : impl_(std::make_unique<Impl>(loop, threads)) {}

DeviceExecutor::~DeviceExecutor() {
    stop();
    impl_->pool.join();
}

void DeviceExecutor::stop() { *impl_->alive = false; }

void DeviceExecutor::dispatch(const std::string& key, std::function<void()> work, std::function<void()> done) {
    auto& strand = impl_->strands[key];
    if (!strand) strand = std::make_unique<Strand>(impl_->pool.get_executor());
    boost::asio::post(*strand, [work = std::move(work), done = std::move(done), &loop = impl_->loop, alive = impl_->alive]() mutable {
        work();
        boost::asio::post(loop, [done = std::move(done), alive] {
            if (*alive) done();
        });
    });
}

}  // namespace aismi
