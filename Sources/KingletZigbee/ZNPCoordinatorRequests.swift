import KingletCore

/// What completes a request after its SRSP said "accepted".
enum ZNPCompletion {
    /// The SRSP itself (permit join).
    case response
    /// AF_DATA_CONFIRM with this AF transaction id.
    case dataConfirm(transactionID: UInt8)
    /// ZDO_BIND_RSP from this device.
    case bind(nwk: UInt16)
    /// ZDO_ACTIVE_EP_RSP from this device.
    case activeEndpoints(nwk: UInt16)
}

/// A request waiting for its turn at the serial line. `id` is nil for the coordinator's own
/// requests (endpoint discovery on join), which report no outcome.
struct ZNPQueuedRequest {
    var id: ZigbeeRequestID?
    var request: ZNPRequest
    var completion: ZNPCompletion
}

/// A request the stick accepted, waiting for its confirmation or ZDO response.
struct ZNPAwaiting {
    var id: ZigbeeRequestID?
    var completion: ZNPCompletion
    var deadline: Instant
}

enum ZNPRequestOutcome {
    case success
    case failure(ZigbeeRequestFailure)
}

extension ZNPCoordinator {
    // MARK: Requests the owner makes

    /// Opens the network for joining for `seconds` (0 closes it; Zigbee 3.0 devices cap it
    /// at 254) on the coordinator and every router: ZDO Mgmt_Permit_Joining_req broadcast to
    /// 0xFFFC, as zigbee-herdsman does; trust center significance 0.
    public func permitJoin(seconds: UInt8) throws(ZigbeeRequestError) -> ZigbeeRequestID {
        try enqueue(.permitJoin(mode: .broadcast, destination: 0xFFFC, seconds: seconds, trustCenterSignificance: 0),
                    completion: .response)
    }

    /// Sends any client-to-server ZCL command to a device's endpoint. Completes on the AF
    /// delivery confirmation; the device's answer arrives as `.attribute` or
    /// `.commandStatus` events.
    public func sendZCL(_ command: ZCLCommand, to ieee: ZigbeeIEEEAddress, endpoint: UInt8, cluster: UInt16,
                        manufacturerCode: UInt16? = nil) throws(ZigbeeRequestError) -> ZigbeeRequestID {
        let nwk = try address(of: ieee)
        let frame = command.encoded(sequence: nextZCLSequence, manufacturerCode: manufacturerCode)
        // AF_DATA_REQUEST spends 10 bytes of MT's 250 on its own fields.
        guard frame.count <= ZNPFrame.maximumDataLength - 10 else { throw .payloadTooLong(frame.count) }
        let transactionID = nextTransactionID
        let request = ZNPDataRequest(
            destination: nwk, destinationEndpoint: endpoint, sourceEndpoint: endpoints[0].endpoint, cluster: cluster,
            transactionID: transactionID, options: settings.afOptions, radius: settings.afRadius, payload: frame)
        let id = try enqueue(.dataRequest(request), completion: .dataConfirm(transactionID: transactionID))
        nextZCLSequence &+= 1
        nextTransactionID &+= 1
        return id
    }

    public func readAttributes(_ attributes: [UInt16], of ieee: ZigbeeIEEEAddress, endpoint: UInt8,
                               cluster: UInt16) throws(ZigbeeRequestError) -> ZigbeeRequestID {
        try sendZCL(.readAttributes(attributes), to: ieee, endpoint: endpoint, cluster: cluster)
    }

    public func writeAttribute(_ attribute: UInt16, value: ZCLValue, of ieee: ZigbeeIEEEAddress, endpoint: UInt8,
                               cluster: UInt16) throws(ZigbeeRequestError) -> ZigbeeRequestID {
        try sendZCL(.writeAttributes([ZCLAttributeWrite(attribute: attribute, value: value)]),
                    to: ieee, endpoint: endpoint, cluster: cluster)
    }

    /// On, off or toggle (On/Off cluster 0x0006).
    public func setOnOff(_ command: ZCLOnOffCommand, device ieee: ZigbeeIEEEAddress,
                         endpoint: UInt8) throws(ZigbeeRequestError) -> ZigbeeRequestID {
        try sendZCL(.onOff(command), to: ieee, endpoint: endpoint, cluster: ZCLClusterID.onOff)
    }

    /// Move to a level (Level Control 0x0008), optionally switching on/off with it.
    public func moveToLevel(_ level: UInt8, transitionTime: UInt16 = 0, withOnOff: Bool = true,
                            device ieee: ZigbeeIEEEAddress, endpoint: UInt8) throws(ZigbeeRequestError) -> ZigbeeRequestID {
        try sendZCL(.level(.moveToLevel(level: level, transitionTime: transitionTime, withOnOff: withOnOff)),
                    to: ieee, endpoint: endpoint, cluster: ZCLClusterID.levelControl)
    }

    public func configureReporting(_ records: [ZCLReportingConfiguration], of ieee: ZigbeeIEEEAddress,
                                   endpoint: UInt8, cluster: UInt16) throws(ZigbeeRequestError) -> ZigbeeRequestID {
        try sendZCL(.configureReporting(records), to: ieee, endpoint: endpoint, cluster: cluster)
    }

    /// Binds a device's cluster to `destination` (by default our first endpoint), so the
    /// device sends its reports there: ZDO Bind_req to the device (Zigbee spec §2.4.3.2.2).
    /// Completes on the device's ZDO_BIND_RSP.
    public func bind(_ ieee: ZigbeeIEEEAddress, endpoint: UInt8, cluster: UInt16,
                     to destination: ZigbeeBindDestination? = nil) throws(ZigbeeRequestError) -> ZigbeeRequestID {
        let nwk = try address(of: ieee)
        guard let target = destination ?? coordinatorIEEE.map({ .device($0, endpoint: endpoints[0].endpoint) }) else {
            throw .notReady
        }
        let request = ZNPRequest.bind(destination: nwk, source: ieee, sourceEndpoint: endpoint, cluster: cluster,
                                      target: target)
        return try enqueue(request, completion: .bind(nwk: nwk))
    }

    /// Asks a device for its endpoints (ZDO Active_EP_req); the table is updated and
    /// `.endpointsDiscovered` emitted when it answers.
    public func discoverEndpoints(of ieee: ZigbeeIEEEAddress) throws(ZigbeeRequestError) -> ZigbeeRequestID {
        let nwk = try address(of: ieee)
        return try enqueue(.activeEndpoints(destination: nwk, nwkOfInterest: nwk), completion: .activeEndpoints(nwk: nwk))
    }

    // MARK: The queue

    private func address(of ieee: ZigbeeIEEEAddress) throws(ZigbeeRequestError) -> UInt16 {
        guard let device = devices.device(ieee: ieee) else { throw .unknownDevice(ieee) }
        guard device.nwk != ZigbeeDeviceTable.unknownNWK else { throw .deviceAddressUnknown(ieee) }
        return device.nwk
    }

    private func enqueue(_ request: ZNPRequest, completion: ZNPCompletion) throws(ZigbeeRequestError) -> ZigbeeRequestID {
        guard state == .ready else { throw .notReady }
        guard queue.count < settings.queueCapacity else { throw .queueFull }
        let id = ZigbeeRequestID(rawValue: nextRequestNumber)
        nextRequestNumber &+= 1
        queue.append(ZNPQueuedRequest(id: id, request: request, completion: completion))
        pump()
        return id
    }

    /// Sends the next queued request when the line is free.
    func pump() {
        while state == .ready, inFlight == nil, let next = queue.first {
            if case .response = next.completion {} else if awaiting.count >= settings.awaitingCapacity {
                return  // wait for a confirmation to free a slot
            }
            queue.removeFirst()
            earlyConfirm = nil
            if !send(next.request, purpose: .request(next)) {
                finish(next, .failure(.refused(.invalidParameter)))
            }
        }
    }

    /// The SRSP to a queued request.
    func requestResponse(_ queued: ZNPQueuedRequest, _ incoming: ZNPIncoming) {
        guard case .status(_, let status) = incoming else {
            finish(queued, .failure(.refused(.failure)))
            return
        }
        guard status.isSuccess else {
            finish(queued, .failure(.refused(status)))
            return
        }
        if case .response = queued.completion {
            finish(queued, .success)
            return
        }
        if case .dataConfirm(let id) = queued.completion, let early = earlyConfirm, early.transactionID == id {
            earlyConfirm = nil
            finish(queued, early.status.isSuccess ? .success : .failure(.deliveryFailed(early.status)))
            return
        }
        var timeout = settings.zdoResponseTimeout
        if case .dataConfirm = queued.completion { timeout = settings.confirmTimeout }
        awaiting.append(ZNPAwaiting(id: queued.id, completion: queued.completion, deadline: now.advanced(by: timeout)))
    }

    func requestTimedOut(_ flight: ZNPInFlight) {
        counters.requestTimeouts += 1
        switch flight.purpose {
        case .startup:
            startupFailed(.stepTimedOut(flight.command))
        case .request(let queued):
            finish(queued, .failure(.noResponse))
            consecutiveTimeouts += 1
            if consecutiveTimeouts >= settings.unansweredLimit {
                restart(reason: .coordinatorUnresponsive)
            }
        }
    }

    func dataConfirmed(_ transactionID: UInt8, status: ZNPStatus) {
        guard let index = awaitingIndex(matching: { completion in
            if case .dataConfirm(let id) = completion { return id == transactionID }
            return false
        }) else {
            // The confirm can overtake the SRSP of its own AF_DATA_REQUEST on a busy stick;
            // keep it for the SRSP.
            if let flight = inFlight, case .request(let queued) = flight.purpose,
               case .dataConfirm(let id) = queued.completion, id == transactionID {
                earlyConfirm = (transactionID, status)
            } else {
                counters.unexpectedResponses += 1
            }
            return
        }
        let entry = awaiting.remove(at: index)
        complete(entry.id, status.isSuccess ? .success : .failure(.deliveryFailed(status)))
    }

    func zdoResponse(_ kind: ZNPCompletion, status: ZNPStatus, endpoints list: ArraySlice<UInt8>?) {
        guard let index = awaitingIndex(matching: { completion in
            switch (completion, kind) {
            case (.bind(let a), .bind(let b)), (.activeEndpoints(let a), .activeEndpoints(let b)): return a == b
            default: return false
            }
        }) else {
            // Responses to requests made by others (or after our timeout) still teach us
            // a device's endpoints.
            if let list, status.isSuccess, case .activeEndpoints(let nwk) = kind { learnEndpoints(list, nwk: nwk) }
            return
        }
        let entry = awaiting.remove(at: index)
        if let list, status.isSuccess, case .activeEndpoints(let nwk) = kind { learnEndpoints(list, nwk: nwk) }
        complete(entry.id, status.isSuccess ? .success : .failure(.refused(status)))
    }

    private func learnEndpoints(_ list: ArraySlice<UInt8>, nwk: UInt16) {
        guard let device = devices.device(nwk: nwk) else { return }
        devices.setEndpoints(list, ieee: device.ieee)
        emit(.endpointsDiscovered(device.address))
    }

    func expireAwaiting() {
        var index = 0
        while index < awaiting.count {
            if now >= awaiting[index].deadline {
                let entry = awaiting.remove(at: index)
                complete(entry.id, .failure(.confirmationTimedOut))
            } else {
                index += 1
            }
        }
    }

    func finish(_ queued: ZNPQueuedRequest, _ outcome: ZNPRequestOutcome) {
        complete(queued.id, outcome)
    }

    private func complete(_ id: ZigbeeRequestID?, _ outcome: ZNPRequestOutcome) {
        guard let id else { return }
        switch outcome {
        case .success: emit(.requestCompleted(id))
        case .failure(let failure): emit(.requestFailed(id, failure))
        }
    }

    private func awaitingIndex(matching predicate: (ZNPCompletion) -> Bool) -> Int? {
        for index in awaiting.indices where predicate(awaiting[index].completion) { return index }
        return nil
    }

    /// Fails everything queued, in flight or awaiting (restart or stop).
    func cancelRequests() {
        if let flight = inFlight, case .request(let queued) = flight.purpose {
            finish(queued, .failure(.cancelled))
        }
        for queued in queue { finish(queued, .failure(.cancelled)) }
        for entry in awaiting { complete(entry.id, .failure(.cancelled)) }
        queue.removeAll()
        awaiting.removeAll()
    }

    // MARK: Device events

    func deviceAnnounced(_ device: ZigbeeDeviceAddress) {
        let known = devices.device(ieee: device.ieee)
        guard devices.update(device) else {
            counters.devicesNotRecorded += 1
            emit(.deviceJoined(device))
            return
        }
        emit(.deviceJoined(device))
        // A device seen before keeps its endpoints; a new one is asked, if there is room.
        if settings.discoversEndpointsOnJoin, state == .ready, known?.endpoints.isEmpty ?? true,
           queue.count < settings.queueCapacity {
            let request = ZNPRequest.activeEndpoints(destination: device.nwk, nwkOfInterest: device.nwk)
            queue.append(ZNPQueuedRequest(id: nil, request: request, completion: .activeEndpoints(nwk: device.nwk)))
        }
    }
}
