import KingletDevices
import KingletDocument

/// A property's attribute reporting, asked of the device when it joins or the coordinator
/// starts: the visitor's `reporting` (`minimumInterval`, `maximumInterval` in seconds,
/// `reportableChange` in the property's units). The agent binds the cluster to the
/// coordinator and sends ZCL Configure Reporting (ZCL spec §2.5.7), so the device reports
/// by itself instead of being polled.
public struct ZigbeeReporting: Equatable, Sendable {
    public var minimumInterval: UInt16
    /// 0: reports on change only; 0xFFFF: no reports (ZCL spec §2.5.7.1.6).
    public var maximumInterval: UInt16
    /// The change that triggers a report, in the reading's units (°C, %, W); analog
    /// attributes only. Nil: every change.
    public var reportableChange: Double?

    public static let keys = ["minimumInterval", "maximumInterval", "reportableChange"]

    static func decode(_ config: DeviceConfigData) throws(DocumentError) -> ZigbeeReporting {
        try config.rejectUnknown(keys)
        let minimum = try ZigbeeBoardSettings.number(config, "minimumInterval", default: 1, limit: 0xFFFF)
        let maximum = try ZigbeeBoardSettings.number(config, "maximumInterval", default: 300, limit: 0xFFFF)
        if maximum != 0 && maximum != 0xFFFF && maximum < minimum {
            throw config.error("maximumInterval", "must be at least minimumInterval (\(minimum)), or 0 for reports on change only")
        }
        let change = try config.double("reportableChange")
        if let change, !(change >= 0) || !change.isFinite { throw config.error("reportableChange", "must be a number of at least 0") }
        return ZigbeeReporting(minimumInterval: UInt16(minimum), maximumInterval: UInt16(maximum), reportableChange: change)
    }

    /// The Configure Reporting record for `attribute` of `cluster`, when Kinglet knows the
    /// attribute's type and scale (the attributes ZCLClusters interprets).
    public func record(cluster: UInt16, attribute: UInt16) -> ZCLReportingConfiguration? {
        guard let known = ZigbeeReporting.knownAttribute(cluster: cluster, attribute: attribute) else { return nil }
        var change: ZCLValue? = nil
        if let reportableChange, known.type.isAnalog {
            let raw = (reportableChange / known.unitsPerStep).rounded()
            switch known.type {
            case .uint8: change = .uint8(UInt8(min(raw, 0xFF)))
            case .uint16: change = .uint16(UInt16(min(raw, 0xFFFF)))
            case .int16: change = .int16(Int16(min(raw, 0x7FFF)))
            default: change = nil
            }
        }
        return ZCLReportingConfiguration(attribute: attribute, type: known.type, minimumInterval: minimumInterval,
                                         maximumInterval: maximumInterval, reportableChange: change)
    }

    /// The ZCL type of the attributes Kinglet interprets, and what one raw step is worth in
    /// the reading's units (ZCLClusters.interpret's scales).
    static func knownAttribute(cluster: UInt16, attribute: UInt16) -> (type: ZCLDataType, unitsPerStep: Double)? {
        switch (cluster, attribute) {
        case (ZCLClusterID.onOff, 0x0000): return (.bool, 1)
        case (ZCLClusterID.levelControl, 0x0000): return (.uint8, 1)
        case (ZCLClusterID.temperatureMeasurement, 0x0000): return (.int16, 0.01)
        case (ZCLClusterID.relativeHumidity, 0x0000): return (.uint16, 0.01)
        case (ZCLClusterID.occupancySensing, 0x0000): return (.bitmap8, 1)
        case (ZCLClusterID.powerConfiguration, 0x0020): return (.uint8, 0.1)
        case (ZCLClusterID.powerConfiguration, 0x0021): return (.uint8, 0.5)
        case (ZCLClusterID.electricalMeasurement, 0x0505), (ZCLClusterID.electricalMeasurement, 0x0508): return (.uint16, 1)
        case (ZCLClusterID.electricalMeasurement, 0x050B): return (.int16, 1)
        default: return nil
        }
    }
}
