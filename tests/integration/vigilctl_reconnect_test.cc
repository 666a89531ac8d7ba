// vigilctl wait and watch across restarts of a real vigild on the same socket: they
// reconnect (one line on stderr per outage), resume after the last event they received, and
// give up only at their --timeout.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "tests/integration/cluster.h"

namespace vigil::testing {
namespace {

using namespace std::chrono_literals;

// Generous: daemons restart under ASan on a shared machine.
constexpr auto kLong = 90s;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::size_t Count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// One vigilctl running in the background, stdout and stderr to files.
class Ctl {
 public:
  Ctl(const TempDir& dir, const std::string& name, const std::string& socket,
      const std::string& args)
      : out_(dir.File(name + ".out")), err_(dir.File(name + ".err")) {
    const std::string ctl = VigilctlPath();
    const std::string command = fmt::format("exec {} --socket {} {} >{} 2>{}", ctl, socket, args,
                                            out_, err_);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~Ctl() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // Its exit status once it has exited within `deadline`; -1 if it is still running.
  int Wait(std::chrono::milliseconds deadline = kLong) {
    WaitUntil(
        [&] {
          int status = 0;
          if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          }
          return pid_ < 0;
        },
        deadline);
    return status_;
  }
  std::string Out() const { return Read(out_); }
  std::string Err() const { return Read(err_); }

 private:
  std::string out_, err_;
  pid_t pid_ = -1;
  int status_ = -1;
};

bool Subscribed(const Daemon& d, int clients) {
  return WaitUntil([&] { return d.Metric("vigil_event_subscribers") >= clients; }, kLong);
}

TEST(VigilctlReconnect, WaitSucceedsAcrossADaemonRestart) {
  Cluster c;
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  ASSERT_TRUE(WaitUntil([&] { return c.AllSee("up"); })) << c.Logs();
  // n2 is down, so the wait has something to wait for.
  c.node(1).Signal(SIGKILL);
  c.node(1).WaitExit();
  ASSERT_TRUE(WaitUntil([&] { return c.node(0).PeerState("n2") == "down"; })) << c.Logs();
  Ctl wait(c.dir(), "wait", c.node(0).socket(), "wait n2 --state up --timeout 120s");
  ASSERT_TRUE(Subscribed(c.node(0), 1)) << wait.Err();

  c.node(0).Signal(SIGTERM);
  ASSERT_EQ(c.node(0).WaitExit(), 0) << c.node(0).Log();
  ASSERT_TRUE(c.node(0).Start()) << c.node(0).Log();
  ASSERT_TRUE(c.node(1).Start()) << c.node(1).Log();

  EXPECT_EQ(wait.Wait(), 0) << wait.Out() << wait.Err();
  EXPECT_EQ(wait.Out(), "n2 is up\n");
  const std::string err = wait.Err();
  EXPECT_EQ(Count(err, "\n"), 2u) << err;  // one line for the outage, one when back
  EXPECT_EQ(Count(err, "closed the event stream (vigild restarting?); reconnecting..."), 1u)
      << err;
  EXPECT_EQ(Count(err, "vigilctl: reconnected to vigild on " + c.node(0).socket()), 1u) << err;
}

TEST(VigilctlReconnect, WaitAndWatchGiveUpAtTheirTimeoutWhenTheDaemonStaysAway) {
  ClusterOptions o;
  o.nodes = 2;
  Cluster c(o);
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  ASSERT_TRUE(WaitUntil([&] { return c.AllSee("up"); })) << c.Logs();
  Ctl wait(c.dir(), "wait", c.node(0).socket(), "wait n2 --state down --timeout 20s");
  Ctl watch(c.dir(), "watch", c.node(0).socket(), "watch --timeout 3s");
  ASSERT_TRUE(Subscribed(c.node(0), 2)) << wait.Err() << watch.Err();
  c.node(0).Signal(SIGKILL);
  c.node(0).WaitExit();

  EXPECT_EQ(watch.Wait(), 2) << watch.Err();
  EXPECT_NE(watch.Err().find("gave up: vigild on " + c.node(0).socket() + " unreachable for"),
            std::string::npos)
      << watch.Err();
  EXPECT_EQ(wait.Wait(), 1) << wait.Err();  // 1: timed out, as when the peer never gets there
  const std::string err = wait.Err();
  EXPECT_EQ(Count(err, "reconnecting..."), 1u) << err;  // one line, however many retries
  EXPECT_EQ(Count(err, "reconnected"), 0u) << err;
  EXPECT_NE(err.find("timed out after 20000 ms waiting for n2 to be down (vigild on " +
                     c.node(0).socket() + " unreachable for the last"),
            std::string::npos)
      << err;
}

TEST(VigilctlReconnect, WatchKeepsPrintingAcrossRestartsAndShowsTheStateAfterAGap) {
  Cluster c;
  ASSERT_TRUE(c.StartAll()) << c.Logs();
  ASSERT_TRUE(WaitUntil([&] { return c.AllSee("up"); })) << c.Logs();
  Ctl watch(c.dir(), "watch", c.node(0).socket(), "watch");
  ASSERT_TRUE(Subscribed(c.node(0), 1)) << watch.Err();

  // A clean restart: watch is back, and live events still arrive.
  c.node(0).Signal(SIGTERM);
  ASSERT_EQ(c.node(0).WaitExit(), 0) << c.node(0).Log();
  ASSERT_TRUE(c.node(0).Start()) << c.node(0).Log();
  ASSERT_TRUE(WaitUntil([&] { return Count(watch.Err(), "reconnected") == 1; }, kLong))
      << watch.Err();
  ASSERT_TRUE(WaitUntil([&] { return c.node(0).PeerState("n3") == "up"; })) << c.Logs();
  c.node(2).Signal(SIGTERM);
  c.node(2).WaitExit();
  EXPECT_TRUE(WaitUntil([&] { return watch.Out().find("n3  up -> left") != std::string::npos; },
                        kLong))
      << watch.Out() << watch.Err();

  // A crash: the events after the one watch saw last are not kept, so vigild says so and
  // sends the current state of every peer, which watch prints as such.
  c.node(0).Signal(SIGKILL);
  c.node(0).WaitExit();
  ASSERT_TRUE(c.node(0).Start()) << c.node(0).Log();
  EXPECT_TRUE(WaitUntil(
      [&] {
        const std::string out = watch.Out();
        return out.find("gap: vigild restarted") != std::string::npos &&
               out.find("  state  n2  ") != std::string::npos &&
               out.find("  state  n3  ") != std::string::npos;
      },
      kLong))
      << watch.Out() << watch.Err();
  const std::string err = watch.Err();
  EXPECT_EQ(Count(err, "reconnecting..."), 2u) << err;  // one line per outage
  EXPECT_TRUE(WaitUntil([&] { return Count(watch.Err(), "reconnected") == 2; }, kLong))
      << watch.Err();
  EXPECT_EQ(watch.Wait(0ms), -1) << "watch must still be running: " << watch.Err();
}

}  // namespace
}  // namespace vigil::testing
