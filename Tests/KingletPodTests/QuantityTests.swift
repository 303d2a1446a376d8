import KingletPod
import Testing

@Suite struct QuantityTests {
    private func value(_ text: String, _ unit: Quantity.Unit) -> Int64? {
        if case .success(let value) = Quantity.parse(text, as: unit) { return value }
        return nil
    }

    private func problem(_ text: String) -> String? {
        if case .failure(let error) = Quantity.parse(text, as: .units) { return error.message }
        return nil
    }

    @Test(arguments: [
        ("500m", Int64(500)), ("1", 1000), ("0.5", 500), ("2.25", 2250), ("100u", 1), ("1n", 1), ("0", 0), ("1k", 1_000_000),
        ("0.0001", 1), ("+3", 3000),
    ])
    func cpuQuantitiesBecomeMillicoresRoundedUp(text: String, millicores: Int64) {
        #expect(value(text, .millis) == millicores)
    }

    @Test(arguments: [
        ("64Mi", Int64(67_108_864)), ("1Gi", 1_073_741_824), ("1G", 1_000_000_000), ("128974848", 128_974_848),
        ("129e6", 129_000_000), ("129E6", 129_000_000), ("123Mi", 128_974_848), ("1.5Ki", 1536), ("512", 512),
        ("1Ei", 1_152_921_504_606_846_976), ("500m", 1),
    ])
    func memoryQuantitiesBecomeBytes(text: String, bytes: Int64) {
        #expect(value(text, .units) == bytes)
    }

    @Test func malformedQuantitiesSayWhatIsWrong() {
        #expect(problem("") == "empty quantity")
        #expect(problem("Mi") == "'Mi' does not start with a number")
        #expect(problem("12XB")?.hasPrefix("unknown suffix in '12XB'") == true)
        #expect(problem("-1") == "'-1' is negative")
        #expect(problem("9Ei") == "'9Ei' is too large")
        #expect(problem("1234567890123456789") == "too many digits in '1234567890123456789'")
    }
}
