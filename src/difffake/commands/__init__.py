"""One module per `difffake` subcommand; each defines NAME, HELP, add_arguments(p) and run(args) -> int."""
