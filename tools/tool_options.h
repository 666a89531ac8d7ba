// Command-line parsing shared by the test-bed tools (vigil-loadgen, vigil-udpflood,
// vigil-tracegen): Boost.Program_options with --help and one error line.
#pragma once

#include <boost/program_options.hpp>

#include <iostream>
#include <optional>

namespace vigil {

// Parses argv into `options`' variables. Returns nullopt when the tool should go on;
// otherwise the exit status it should return: 0 after printing the help (--help), 2 after
// printing "NAME: what is wrong" to stderr (an unknown option, a bad or missing value).
inline std::optional<int> ParseToolOptions(
    int argc, char** argv, const boost::program_options::options_description& options,
    const char* name) {
  namespace po = boost::program_options;
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, options), vm);
    if (vm.count("help")) {
      std::cout << options;
      return 0;
    }
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return 2;
  }
  return std::nullopt;
}

}  // namespace vigil
