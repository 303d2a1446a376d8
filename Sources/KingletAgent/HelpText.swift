/// The agent's --help pages.
enum HelpText {
    static func page(_ topic: HelpTopic) -> String {
        switch topic {
        case .general: return general
        case .run: return run
        case .status: return status
        case .logs: return logs
        case .cache: return cache
        case .images: return images
        case .pull: return pull
        case .keeper: return keeper
        }
    }

    static let general = """
    kinglet: makes this board a Kubernetes node and runs the devices wired to it.

    usage: kinglet [command] [options]

    commands:
      run              run the agent (the default command)
      status           show the running agent's pods, containers and node conditions
      logs POD         print a container's log
      images           list the images on this board
      pull IMAGE       pull an image into the board's image store
      keeper --stop    stop the container keeper and every container it holds
      cache verify|inspect FILE
                       check or list a pod cache file
      version          print the version and the linked C libraries
      help [command]   print help, for one command when named

    options:
      -h, --help       print help
      -V, --version    print the version

    'kinglet --config FILE' is short for 'kinglet run --config FILE'.
    """

    static let images = """
    usage: kinglet images [-o table|json] [--config FILE]

    Lists the images in the image store (paths.images of the config): reference, image
    id (config digest), size as the registry gives it, when pulled and last used.

    options:
      -o, --output FORMAT  table (default) or json
      -c, --config FILE    config file (default: \(RunOptions.defaultConfigPath))
      -h, --help           print this help
    """

    static let pull = """
    usage: kinglet pull IMAGE [--platform OS/ARCH[/VARIANT]] [--config FILE]

    Pulls IMAGE (eclipse-mosquitto:2, registry.local:5000/plc-bridge:1.4, name@sha256:...)
    into the image store, for a board to start without network (docs/images.md), with the
    config's registries and credentials. Progress goes to standard output. Run it while the
    agent is stopped: both write the store's index.

    options:
          --platform P     pull for another platform (default: images.platform of the config,
                           else this kernel's, e.g. linux/arm/v7)
      -c, --config FILE    config file (default: \(RunOptions.defaultConfigPath))
      -h, --help           print this help

    Exit status: 0 when pulled, 1 when the pull failed (the reason is printed), 2 for a bad
    command line, config or image name.
    """

    static let keeper = """
    usage: kinglet keeper [--stop] [--state DIR | --config FILE]

    The container keeper: one small process per board that starts the containers for the
    agent and holds their output pipes and exit codes while no agent runs, so stopping,
    upgrading or killing the agent never stops a container (docs/runtime.md). The agent
    starts it when runtime.containersOutliveAgent is true (the default); it exits by
    itself once it holds nothing and no agent is connected. It listens on DIR/keeper.sock
    and writes its pid to DIR/keeper.pid.

    options:
          --stop          stop the running keeper: SIGTERM to every container it holds,
                          SIGKILL after 10 s, then it exits (for uninstalling, or a board
                          being reset); waits until it has exited
          --state DIR     the state folder (default: the folder of the config's cache file)
      -c, --config FILE   config file (default: \(RunOptions.defaultConfigPath))
      -h, --help          print this help

    Exit status: 0, 1 when the keeper cannot run (or, with --stop, would not stop), 2 for
    a bad command line or config.
    """

    static let run = """
    usage: kinglet run [--config FILE | --board NAME] [--boards-dir DIR]

    Runs the agent on one thread and one event loop until SIGTERM or Ctrl-C.

    options:
      -c, --config FILE   config file (default: \(RunOptions.defaultConfigPath))
          --board NAME    use the board profile DIR/NAME/kinglet.yaml (e.g. 'sim')
          --boards-dir DIR  where board profiles live (default: boards)
      -h, --help          print this help

    Exit status: 0 after a clean stop, 2 when the config or a static pod manifest is
    invalid (the message names file, line and column), 1 for other failures.
    """

    static let status = """
    usage: kinglet status [-o table|json] [--config FILE | --socket PATH]

    Asks the running agent, through its status socket, for its pods, their containers and
    restarts, and the node's conditions.

    options:
      -o, --output FORMAT  table (default) or json
          --config FILE    the agent's config, for its socket path (default: \(RunOptions.defaultConfigPath))
          --socket PATH    the status socket, overriding the config
    """

    static let logs = """
    usage: kinglet logs POD [-n NAMESPACE] [-c CONTAINER] [-f] [--timestamps] [--config FILE]

    Prints a container's log from the agent's log folder (the agent need not be running).

    options:
      -n, --namespace NS   the pod's namespace (default: default)
      -c, --container NAME the container (needed when the pod has several)
      -f, --follow         keep printing new lines until Ctrl-C
          --timestamps     prefix each line with its RFC 3339 time
          --config FILE    the agent's config, for the log folder (default: \(RunOptions.defaultConfigPath))
    """

    static let cache = """
    usage: kinglet cache verify FILE
           kinglet cache inspect FILE

    verify   checks every slot of a pod cache file; exit 0 when sound, 1 when corrupt
    inspect  lists the records: kind, namespace/name, uid, resourceVersion, sizes
    """
}
