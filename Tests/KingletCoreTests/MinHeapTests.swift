import KingletCore
import KingletLoopTesting
import Testing

@Suite struct MinHeapTests {
    @Test func popsInAscendingOrderWhateverTheInsertionOrder() {
        var heap = MinHeap<Int>(capacity: 16)
        var random = SplitMix64(seed: 7)
        var inserted: [Int] = []
        for _ in 0..<500 {
            let value = Int(random.next() % 1000)
            inserted.append(value)
            heap.insert(value)
        }
        var popped: [Int] = []
        while let value = heap.popFirst() { popped.append(value) }
        #expect(popped == inserted.sorted())
        #expect(heap.isEmpty && heap.first == nil)
    }

    @Test func firstIsTheLeastAndStaysUntilPopped() {
        var heap = MinHeap<Int>()
        for value in [5, 3, 8] { heap.insert(value) }
        #expect(heap.first == 3 && heap.count == 3)
        #expect(heap.popFirst() == 3)
        #expect(heap.first == 5 && heap.count == 2)
    }
}
