// vigild: the failure-detector daemon. Parses the command line, loads the config, runs.
#include <boost/program_options.hpp>

#include <cstdlib>
#include <iostream>

#include <spdlog/spdlog.h>

#include "config/config.h"
#include "config/config_writer.h"
#include "daemon/daemon.h"
#include "daemon/logging.h"
#include "preflight/startup_check.h"

namespace po = boost::program_options;

int main(int argc, char** argv) {
  std::string config_path = "/etc/vigil/vigil.yaml";
  std::string log_level;
  po::options_description options("vigild options");
  options.add_options()
      ("config,c", po::value(&config_path)->value_name("FILE"),
       "configuration file (default /etc/vigil/vigil.yaml)")
      ("check-config", "validate the configuration, print every error, and exit")
      ("print-config", "print the configuration with every default filled in, as YAML, and exit")
      ("log-level", po::value(&log_level)->value_name("LEVEL"),
       "override log.level: trace, debug, info, warn, error, critical, off")
      ("version", "print the version and exit")
      ("help,h", "print this help and exit");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(options).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "vigild: " << e.what() << "\nTry 'vigild --help'.\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << "Usage: vigild [--config FILE] [--check-config | --print-config] [--log-level LEVEL]\n\n"
              << "Sends UDP heartbeats to the configured peers, detects which are up, and\n"
              << "serves their state on a Unix socket (see docs/api.md).\n\n"
              << options;
    return 0;
  }
  if (vm.count("version")) {
    std::cout << "vigild " << vigil::kVersion << "\n";
    return 0;
  }

  if (!log_level.empty()) {
    if (auto problem = vigil::LogLevelProblem(log_level)) {
      std::cerr << "vigild: --log-level: " << *problem << "\n";
      return 2;
    }
  }
  const vigil::ConfigResult loaded = vigil::LoadConfigFile(config_path);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::cerr << e.ToString() << "\n";
    std::cerr << "vigild: " << loaded.errors.size() << " error(s) in " << config_path << "\n";
    return 1;
  }
  vigil::Config config = *loaded.config;
  if (vm.count("print-config")) {  // the file's settings: --log-level is not part of them
    std::cout << vigil::ConfigYaml(config);
    return 0;
  }
  if (!log_level.empty()) config.log.level = log_level;
  // The same checks, with the same messages, whether checking or starting: a configuration
  // that passes --check-config starts (unless its port or socket is taken right then).
  std::vector<std::string> notes;
  const auto problems = vigil::CheckStartable(config, config_path, &notes);
  if (!problems.empty()) {
    for (const auto& e : problems) std::cerr << e.ToString() << "\n";
    std::cerr << "vigild: " << problems.size() << " error(s) in " << config_path << "\n";
    return 1;
  }
  if (vm.count("check-config")) {
    for (const auto& n : notes) std::cerr << config_path << ": note: " << n << "\n";
    std::cout << config_path << ": OK (" << config.peers.size() << " peers)\n";
    return 0;
  }
  if (!vigil::SetUpLogging(config.log.level)) {
    std::cerr << "vigild: cannot set up logging at level '" << config.log.level << "'\n";
    return 2;
  }
  vigil::RealClock clock;
  vigil::Daemon daemon(std::move(config), config_path, clock);
  return daemon.Run();
}
