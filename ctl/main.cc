// vigilctl: the operator's command line for vigild. The commands and their options are
// tables (ctl/command_table.cc); this only hands them the process.
#include <iostream>

#include "ctl/command_table.h"

int main(int argc, char** argv) { return vigil::RunVigilctl(argc, argv, std::cout, std::cerr); }
