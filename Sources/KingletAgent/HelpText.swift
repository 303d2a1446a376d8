/// The agent's --help pages.
enum HelpText {
    static let general = """
    kinglet: makes this board a Kubernetes node and runs the devices wired to it.

    usage: kinglet [command] [options]

    commands:
      run              run the agent (the default command)
      version          print the version and the linked C libraries
      help [command]   print help, for one command when named

    options:
      -h, --help       print help
      -V, --version    print the version

    'kinglet --config FILE' is short for 'kinglet run --config FILE'.
    """

    static let run = """
    usage: kinglet run [--config FILE | --board NAME] [--boards-dir DIR]

    Runs the agent on one thread and one event loop until SIGTERM or Ctrl-C.

    options:
      -c, --config FILE   config file (default: \(RunOptions.defaultConfigPath))
          --board NAME    use the board profile DIR/NAME/kinglet.yaml (e.g. 'sim')
          --boards-dir DIR  where board profiles live (default: boards)
      -h, --help          print this help
    """
}
