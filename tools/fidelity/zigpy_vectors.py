# Produces Tests/KingletZigbeeTests/ZNPReferenceVectors.swift: MT frames built by
# zigpy-znp's own command classes and TransportFrame, and ZCL frames built by zigpy's
# foundation types, so the Swift tests compare our bytes with an independent implementation.
# Run: python3 -m venv /tmp/venv-zb && /tmp/venv-zb/bin/pip install zigpy-znp
#      /tmp/venv-zb/bin/python tools/zigpy_vectors.py > Tests/KingletZigbeeTests/ZNPReferenceVectors.swift
import importlib.metadata as md
import zigpy_znp.commands as c
import zigpy_znp.types as t
from zigpy_znp.frames import TransportFrame
from zigpy_znp.types.nvids import OsalNvIds as NV
import zigpy.types as zt
import zigpy.zdo.types as zdo_t
from zigpy.zcl import foundation as f

def hx(cmd):
    return TransportFrame(cmd.to_frame()).serialize().hex(" ").upper()

def nvw(item, value):
    return hx(c.SYS.OSALNVWrite.Req(Id=item, Offset=0, Value=t.ShortBytes(value)))

def nvr(item):
    return hx(c.SYS.OSALNVRead.Req(Id=item, Offset=0))

def nvr_rsp(value, status=t.Status.SUCCESS):
    return hx(c.SYS.OSALNVRead.Rsp(Status=status, Value=t.ShortBytes(value)))

def ok(cmd):
    return hx(cmd.Rsp(Status=t.Status.SUCCESS))

# The configuration the Swift tests use.
PAN = 0x1A62
EXT = t.EUI64.convert("01:23:45:67:89:AB:CD:EF")  # = UInt64 0x0123456789ABCDEF
KEY = bytes([1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 13])
CHANNELS = t.Channels.from_channel_list([15])
STICK_IEEE = t.EUI64.convert("00:12:4B:00:AA:BB:CC:DD")
DEVICE_IEEE = t.EUI64.convert("00:12:4B:00:01:02:03:04")

register = c.AF.Register.Req(Endpoint=1, ProfileId=0x0104, DeviceId=0x0005, DeviceVersion=0,
                             LatencyReq=c.af.LatencyReq.NoLatencyReqs, InputClusters=[], OutputClusters=[])

reset_ind = hx(c.SYS.ResetInd.Callback(Reason=t.ResetReason.External, TransportRev=2, ProductId=1,
                                       MajorRel=2, MinorRel=7, MaintRel=1))
# Resume: (request the coordinator must send, responses the stick gives)
resume = [
    (hx(c.SYS.ResetReq.Req(Type=t.ResetType.Soft)), [reset_ind]),
    (hx(c.SYS.Ping.Req()), [hx(c.SYS.Ping.Rsp(Capabilities=t.MTCapabilities(0x0D59)))]),
    (hx(c.SYS.Version.Req()), [hx(c.SYS.Version.Rsp(TransportRev=2, ProductId=1, MajorRel=2, MinorRel=7, MaintRel=1,
                                                    CodeRevision=20221226))]),
    (hx(c.UTIL.GetDeviceInfo.Req()), [hx(c.UTIL.GetDeviceInfo.Rsp(
        Status=t.Status.SUCCESS, IEEE=STICK_IEEE, NWK=0x0000,
        DeviceType=t.DeviceTypeCapabilities.Coordinator | t.DeviceTypeCapabilities.Router,
        DeviceState=t.DeviceState.InitializedNotStarted, AssociatedDevices=[]))]),
    (nvr(NV.HAS_CONFIGURED_ZSTACK3), [nvr_rsp(b"\x55")]),
    (nvr(NV.PANID), [nvr_rsp(t.uint16_t(PAN).serialize())]),
    (nvr(NV.EXTENDED_PAN_ID), [nvr_rsp(EXT.serialize())]),
    (nvr(NV.CHANLIST), [nvr_rsp(CHANNELS.serialize())]),
    (nvr(NV.PRECFGKEY), [nvr_rsp(KEY)]),
    (hx(c.ZDO.StartupFromApp.Req(StartDelay=100)), [
        hx(c.ZDO.StartupFromApp.Rsp(State=c.zdo.StartupState.RestoredNetworkState)),
        hx(c.ZDO.StateChangeInd.Callback(State=t.DeviceState.StartingAsCoordinator)),
        hx(c.ZDO.StateChangeInd.Callback(State=t.DeviceState.StartedAsCoordinator))]),
    (hx(register), [ok(c.AF.Register)]),
]

# Formation requests after the five NV reads found nothing (fresh stick).
formation = [
    nvw(NV.STARTUP_OPTION, b"\x03"),
    hx(c.SYS.ResetReq.Req(Type=t.ResetType.Soft)),
    nvw(NV.STARTUP_OPTION, b"\x00"),
    nvw(NV.LOGICAL_TYPE, b"\x00"),
    nvw(NV.ZDO_DIRECT_CB, b"\x01"),
    nvw(NV.CHANLIST, CHANNELS.serialize()),
    nvw(NV.PANID, t.uint16_t(PAN).serialize()),
    nvw(NV.EXTENDED_PAN_ID, EXT.serialize()),
    nvw(NV.APS_USE_EXT_PANID, EXT.serialize()),
    nvw(NV.PRECFGKEYS_ENABLE, b"\x00"),
    nvw(NV.PRECFGKEY, KEY),
    hx(c.AppConfig.BDBSetChannel.Req(IsPrimary=True, Channel=CHANNELS)),
    hx(c.AppConfig.BDBSetChannel.Req(IsPrimary=False, Channel=t.Channels.NO_CHANNELS)),
    hx(c.AppConfig.BDBStartCommissioning.Req(Mode=c.app_config.BDBCommissioningMode.NwkFormation)),
    hx(c.SYS.OSALNVItemInit.Req(Id=NV.HAS_CONFIGURED_ZSTACK3, ItemLen=1, Value=t.ShortBytes(b"\x55"))),
    nvw(NV.HAS_CONFIGURED_ZSTACK3, b"\x55"),
    hx(register),
]

zcl_temp = bytes([0x18, 0x2A, 0x0A, 0x00, 0x00, 0x29, 0xCA, 0x09])
misc = {
    "sysPing": hx(c.SYS.Ping.Req()),
    "permitJoin60": hx(c.ZDO.MgmtPermitJoinReq.Req(AddrMode=t.AddrMode.Broadcast, Dst=0xFFFC, Duration=60,
                                                   TCSignificance=0)),
    "registerWithClusters": hx(c.AF.Register.Req(Endpoint=1, ProfileId=0x0104, DeviceId=0x0005, DeviceVersion=0,
                                                 LatencyReq=c.af.LatencyReq.NoLatencyReqs,
                                                 InputClusters=[0x0000, 0x0006], OutputClusters=[0x0402])),
    "dataRequestOn": hx(c.AF.DataRequest.Req(DstAddr=0x1234, DstEndpoint=1, SrcEndpoint=1, ClusterId=0x0006, TSN=1,
                                             Options=c.af.TransmitOptions.ACK_REQUEST, Radius=30,
                                             Data=t.ShortBytes(bytes([0x01, 0x01, 0x01])))),
    "bindTemperature": hx(c.ZDO.BindReq.Req(Dst=0x1234, Src=DEVICE_IEEE, SrcEndpoint=1, ClusterId=0x0402,
                                            Address=zdo_t.MultiAddress(addrmode=3, ieee=STICK_IEEE, endpoint=1))),
    "bindGroup": hx(c.ZDO.BindReq.Req(Dst=0x1234, Src=DEVICE_IEEE, SrcEndpoint=1, ClusterId=0x0006,
                                      Address=zdo_t.MultiAddress(addrmode=1, nwk=0x0BEE))),
    "activeEndpointsRequest": hx(c.ZDO.ActiveEpReq.Req(DstAddr=0x1234, NWKAddrOfInterest=0x1234)),
    "nvItemInitMarker": hx(c.SYS.OSALNVItemInit.Req(Id=0x0060, ItemLen=1, Value=t.ShortBytes(b"\x55"))),
    "announce": hx(c.ZDO.EndDeviceAnnceInd.Callback(Src=0x1234, NWK=0x1234, IEEE=DEVICE_IEEE,
                                                    Capabilities=c.zdo.MACCapabilities(0x8C))),
    "trustCenterDevice": hx(c.ZDO.TCDevInd.Callback(SrcNwk=0x1234, SrcIEEE=DEVICE_IEEE, ParentNwk=0x0000)),
    "leave": hx(c.ZDO.LeaveInd.Callback(NWK=0x1234, IEEE=DEVICE_IEEE, Request=False, Remove=False, Rejoin=False)),
    "activeEndpointsResponse": hx(c.ZDO.ActiveEpRsp.Callback(Src=0x1234, Status=zdo_t.Status.SUCCESS, NWK=0x1234,
                                                             ActiveEndpoints=[1, 2])),
    "bindResponse": hx(c.ZDO.BindRsp.Callback(Src=0x1234, Status=zdo_t.Status.SUCCESS)),
    "dataConfirm": hx(c.AF.DataConfirm.Callback(Status=t.Status.SUCCESS, Endpoint=1, TSN=1)),
    "dataConfirmNoAck": hx(c.AF.DataConfirm.Callback(Status=t.Status.MAC_NO_ACK, Endpoint=1, TSN=1)),
    "incomingTemperature": hx(c.AF.IncomingMsg.Callback(
        GroupId=0, ClusterId=0x0402, SrcAddr=0x1234, SrcEndpoint=1, DstEndpoint=1, WasBroadcast=False, LQI=120,
        SecurityUse=False, TimeStamp=123456, TSN=0, Data=t.ShortBytes(zcl_temp), MacSrcAddr=0x1234,
        MsgResultRadius=29)),
    "rpcErrorPing": hx(c.RPCError.CommandNotRecognized.Rsp(ErrorCode=c.rpc_error.ErrorCode.InvalidCommandId,
                                                           RequestHeader=c.SYS.Ping.Req.header)),
    "versionShort": hx(c.SYS.Version.Rsp(TransportRev=2, ProductId=0, MajorRel=2, MinorRel=6, MaintRel=3)),
    "resetIndication": reset_ind,
    "stateStarted": hx(c.ZDO.StateChangeInd.Callback(State=t.DeviceState.StartedAsCoordinator)),
    "dataRequestOk": ok(c.AF.DataRequest),
    "permitJoinOk": ok(c.ZDO.MgmtPermitJoinReq),
    "bindOk": ok(c.ZDO.BindReq),
    "activeEndpointsOk": ok(c.ZDO.ActiveEpReq),
}

def header(frame_type, cmd, seq, server_to_client=False, ddr=False, manuf=None):
    fc = f.FrameControl(frame_type=frame_type, is_manufacturer_specific=manuf is not None,
                        direction=f.Direction.Server_to_Client if server_to_client else f.Direction.Client_to_Server,
                        disable_default_response=ddr, reserved=0)
    return f.ZCLHeader(frame_control=fc, manufacturer=manuf, tsn=seq, command_id=cmd).serialize()

def reporting(attr, dtype, lo, hi, change):
    r = f.AttributeReportingConfig()
    r.direction, r.attrid, r.datatype = f.ReportingDirection.SendReports, attr, dtype
    r.min_interval, r.max_interval, r.reportable_change = lo, hi, change
    return r.serialize()

G, C = f.FrameType.GLOBAL_COMMAND, f.FrameType.CLUSTER_COMMAND
zcl = {
    "readAttributes": header(G, 0x00, 1) + zt.List[zt.uint16_t]([0x0000, 0x0021]).serialize(),
    "readAttributesManufacturer": header(G, 0x00, 2, manuf=0x115F) + t.uint16_t(0xFF01).serialize(),
    "writeAttributes": header(G, 0x02, 3) + f.Attribute(0x0010, f.TypeValue(0x21, zt.uint16_t(300))).serialize(),
    "configureReportingTemperature": header(G, 0x06, 4) + reporting(0x0000, 0x29, 30, 3600, 50),
    "configureReportingOnOff": header(G, 0x06, 5) + reporting(0x0000, 0x10, 0, 600, 0),
    "on": header(C, 0x01, 6),
    "off": header(C, 0x00, 7),
    "toggle": header(C, 0x02, 8),
    "moveToLevelWithOnOff": header(C, 0x04, 9) + zt.uint8_t(128).serialize() + zt.uint16_t(10).serialize(),
    "moveToLevel": header(C, 0x00, 10) + zt.uint8_t(254).serialize() + zt.uint16_t(0).serialize(),
    "readAttributesResponse": header(G, 0x01, 11, server_to_client=True) + b"".join(r.serialize() for r in [
        f.ReadAttributeRecord(attrid=0x0000, status=f.Status.SUCCESS, value=f.TypeValue(type=0x10, value=zt.Bool(True))),
        f.ReadAttributeRecord(attrid=0x4003, status=f.Status.UNSUPPORTED_ATTRIBUTE)]),
    "reportBattery": header(G, 0x0A, 12, server_to_client=True, ddr=True) + b"".join(a.serialize() for a in [
        f.Attribute(0x0020, f.TypeValue(0x20, zt.uint8_t(30))), f.Attribute(0x0021, f.TypeValue(0x20, zt.uint8_t(200)))]),
    "reportStringAndFloat": header(G, 0x0A, 13, server_to_client=True) + b"".join(a.serialize() for a in [
        f.Attribute(0x0005, f.TypeValue(0x42, zt.CharacterString("lumi.weather"))),
        f.Attribute(0x0000, f.TypeValue(0x39, zt.Single(21.5)))]),
    "reportSigned": header(G, 0x0A, 14, server_to_client=True, ddr=True) + b"".join(a.serialize() for a in [
        f.Attribute(0x050B, f.TypeValue(0x29, zt.int16s(-120))), f.Attribute(0x0001, f.TypeValue(0x2A, zt.int24s(-2))),
        f.Attribute(0x0002, f.TypeValue(0x2B, zt.int32s(-70000))), f.Attribute(0x0003, f.TypeValue(0x22, zt.uint24_t(0x123456))),
        f.Attribute(0x0004, f.TypeValue(0x18, zt.bitmap8(0x01))), f.Attribute(0x0006, f.TypeValue(0x30, zt.enum8(2)))]),
    "defaultResponse": header(G, 0x0B, 15, server_to_client=True, ddr=True) + bytes([0x01, 0x00]),
}

def swift_string(value):
    return '"' + value + '"'

out = []
out.append("// Generated by tools/zigpy_vectors.py with zigpy-znp " + md.version("zigpy-znp") + " and zigpy " +
           md.version("zigpy") + ": frames built by their")
out.append("// own command and ZCL classes, to compare ours with an independent implementation. Do not edit.")
out.append("")
out.append("enum ZNPReferenceVectors {")
out.append("    /// Resume start-up: each request the coordinator must write and the stick's answers.")
out.append("    static let resume: [(request: String, responses: [String])] = [")
for req, rsps in resume:
    out.append("        (" + swift_string(req) + ", [")
    for r in rsps:
        out.append("            " + swift_string(r) + ",")
    out.append("        ]),")
out.append("    ]")
out.append("")
out.append("    /// Formation on a fresh stick: the requests after the NV reads, in order.")
out.append("    static let formation: [String] = [")
for r in formation:
    out.append("        " + swift_string(r) + ",")
out.append("    ]")
out.append("")
for name, value in misc.items():
    out.append("    static let " + name + " = " + swift_string(value))
out.append("")
out.append("    /// ZCL frames (header and payload) built by zigpy's foundation types.")
for name, value in zcl.items():
    out.append("    static let zcl" + name[0].upper() + name[1:] + " = " + swift_string(value.hex(" ").upper()))
out.append("}")
print("\n".join(out))
