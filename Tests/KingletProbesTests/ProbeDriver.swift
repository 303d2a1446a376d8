import KingletCore
import KingletEpoll
import KingletProbes
import Testing

/// Runs one attempt on a real epoll loop, in bounded turns of `runOnce`, and checks the
/// runner's contract on the way: no report from inside `run`, exactly one report, idle
/// afterwards.
func runAttempt(_ probe: NetworkProbe, timeout: Duration = .seconds(5),
                sourceLocation: SourceLocation = #_sourceLocation) throws -> ProbeOutcome? {
    let loop = try EpollEventLoop()
    let runner = NetworkProbeRunner(probe, loop: loop)
    var outcomes: [ProbeOutcome] = []
    runner.run(timeout: timeout) { outcomes.append($0) }
    #expect(outcomes.isEmpty, "run reported from inside itself", sourceLocation: sourceLocation)
    let giveUp = loop.now.advanced(by: .seconds(10))
    while outcomes.isEmpty && loop.now < giveUp {
        try loop.runOnce(timeoutMilliseconds: 50)
    }
    // A few more turns: a second report or a leftover timer would show here.
    for _ in 0..<3 { try loop.runOnce(timeoutMilliseconds: 5) }
    #expect(outcomes.count == 1, "expected exactly one report", sourceLocation: sourceLocation)
    #expect(!runner.isRunning, sourceLocation: sourceLocation)
    return outcomes.first
}
