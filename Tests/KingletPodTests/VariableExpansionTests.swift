import KingletPod
import Testing

@Suite struct VariableExpansionTests {
    private let variables = ["GREETING": "hello", "NAME": "edge", "EMPTY": ""]
    private func expand(_ text: String) -> String { VariableExpansion.expand(text) { variables[$0] } }

    @Test func definedReferencesAreReplaced() {
        #expect(expand("$(GREETING), $(NAME)!") == "hello, edge!")
        #expect(expand("[$(EMPTY)]") == "[]")
    }

    @Test func undefinedReferencesStayAsWritten() {
        #expect(expand("$(MISSING) and $(NAME)") == "$(MISSING) and edge")
    }

    @Test func doubleDollarEscapesAReference() {
        #expect(expand("$$(NAME)") == "$(NAME)")
        #expect(expand("cost: $$5") == "cost: $5")
        #expect(expand("$$$(NAME)") == "$edge")
    }

    @Test func strayDollarsAndUnclosedReferencesAreLiteral() {
        #expect(expand("$HOME $") == "$HOME $")
        #expect(expand("$(NAME") == "$(NAME")
        #expect(expand("plain text") == "plain text")
    }

    @Test func envEntriesMayReferenceEarlierOnesOnly() {
        let expanded = VariableExpansion.expandInOrder(
            [("A", "one"), ("B", "$(A)-two"), ("C", "$(D)"), ("D", "four"), ("A", "again:$(A)")],
            base: { $0 == "NODE" ? "board-1" : nil })
        #expect(expanded.map { $0.1 } == ["one", "one-two", "$(D)", "four", "again:one"])
        #expect(VariableExpansion.expandInOrder([("X", "$(NODE)")], base: { $0 == "NODE" ? "board-1" : nil })[0].1 == "board-1")
    }
}
