/// AF_INCOMING_MSG: ZCL from devices, turned into attribute and status events.
extension ZNPCoordinator {
    func incomingMessage(_ message: ZNPIncomingMessage) {
        let ieee = devices.device(nwk: message.source)?.ieee
        if let ieee { devices.addEndpoint(message.sourceEndpoint, ieee: ieee) }
        guard let (header, payload) = ZCLHeader.decode(message.payload) else {
            counters.malformedZCL += 1
            return
        }
        // Cluster-specific commands from devices (a remote's On, an alarm) and anything
        // manufacturer-specific are not interpreted here.
        guard header.frameType == .global, header.manufacturerCode == nil else {
            counters.ignoredMessages += 1
            return
        }
        switch header.command {
        case ZCLGlobalCommandID.reportAttributes, ZCLGlobalCommandID.readAttributesResponse:
            do {
                try ZCLGlobalRecords.forEachAttribute(command: header.command, payload: payload) {
                    attribute, status, value in
                    if let value {
                        emit(.attribute(ZigbeeAttributeReport(
                            ieee: ieee, nwk: message.source, endpoint: message.sourceEndpoint, cluster: message.cluster,
                            attribute: attribute, value: value, linkQuality: message.linkQuality)))
                    } else {
                        emit(.commandStatus(ZigbeeCommandStatus(
                            ieee: ieee, nwk: message.source, endpoint: message.sourceEndpoint, cluster: message.cluster,
                            command: ZCLGlobalCommandID.readAttributes, attribute: attribute, status: status)))
                    }
                }
            } catch {
                counters.malformedZCL += 1
            }
        case ZCLGlobalCommandID.writeAttributesResponse, ZCLGlobalCommandID.configureReportingResponse:
            let answered = header.command == ZCLGlobalCommandID.writeAttributesResponse
                ? ZCLGlobalCommandID.writeAttributes : ZCLGlobalCommandID.configureReporting
            do {
                for record in try ZCLGlobalRecords.statuses(command: header.command, payload: payload) {
                    emit(.commandStatus(ZigbeeCommandStatus(
                        ieee: ieee, nwk: message.source, endpoint: message.sourceEndpoint, cluster: message.cluster,
                        command: answered, attribute: record.attribute, status: record.status)))
                }
            } catch {
                counters.malformedZCL += 1
            }
        case ZCLGlobalCommandID.defaultResponse:
            do {
                let response = try ZCLGlobalRecords.defaultResponse(payload: payload)
                emit(.commandStatus(ZigbeeCommandStatus(
                    ieee: ieee, nwk: message.source, endpoint: message.sourceEndpoint, cluster: message.cluster,
                    command: response.command, attribute: nil, status: response.status)))
            } catch {
                counters.malformedZCL += 1
            }
        default:
            counters.ignoredMessages += 1
        }
    }
}
