/// The shape of a cache file: how many slots, how large each is. Chosen at creation and
/// stored in the header; an existing file's geometry always comes from its header.
public struct CacheGeometry: Equatable, Sendable {
    /// Slots in the file. One stays free so that an update always has somewhere to go.
    public var slotCount: Int
    /// Bytes per slot: one record (its 48-byte header, metadata, spec and status) must fit.
    public var slotSize: Int

    /// 512 slots of 16 KiB: 256 pods plus their device twins with room to spare, and specs
    /// up to about 15 KiB. 8 MiB on disk; only live records' pages are ever touched.
    public static let standard = CacheGeometry(slotCount: 512, slotSize: 16_384)

    public static let minimumSlotCount = 2
    public static let maximumSlotCount = 65_536
    public static let minimumSlotSize = 512
    public static let maximumSlotSize = 16 << 20
    /// Slot sizes are whole 512-byte sectors.
    public static let slotSizeGranule = 512
    /// Keeps the mapping well inside a 32-bit (armv7) address space.
    public static let maximumFileLength = 1 << 30

    public init(slotCount: Int, slotSize: Int) {
        self.slotCount = slotCount
        self.slotSize = slotSize
    }

    /// Records this geometry can hold at once (one slot is kept free for commits).
    public var recordCapacity: Int { slotCount - 1 }

    /// Largest record a slot holds, header included.
    public var largestRecord: Int { slotSize }

    var descriptorTableOffset: Int { CacheLayout.headerAreaSize }
    var descriptorTableSize: Int {
        let raw = slotCount * CacheLayout.descriptorSize
        let page = CacheLayout.headerAreaSize
        return (raw + page - 1) / page * page
    }
    var recordAreaOffset: Int { descriptorTableOffset + descriptorTableSize }
    var fileLength: Int { recordAreaOffset + slotCount * slotSize }

    func recordOffset(slot: Int) -> Int { recordAreaOffset + slot * slotSize }
    func descriptorOffset(slot: Int) -> Int { descriptorTableOffset + slot * CacheLayout.descriptorSize }

    /// Nil when usable, else what is wrong with it.
    var problem: String? {
        if slotCount < CacheGeometry.minimumSlotCount || slotCount > CacheGeometry.maximumSlotCount {
            return "slot count " + String(slotCount) + " is outside " + String(CacheGeometry.minimumSlotCount)
                + "..." + String(CacheGeometry.maximumSlotCount)
        }
        if slotSize < CacheGeometry.minimumSlotSize || slotSize > CacheGeometry.maximumSlotSize {
            return "slot size " + String(slotSize) + " is outside " + String(CacheGeometry.minimumSlotSize)
                + "..." + String(CacheGeometry.maximumSlotSize)
        }
        if slotSize % CacheGeometry.slotSizeGranule != 0 {
            return "slot size " + String(slotSize) + " is not a multiple of " + String(CacheGeometry.slotSizeGranule)
        }
        // Checked in 64 bits: on armv7 Int is 32 bits wide.
        let length = Int64(recordAreaOffsetWide) + Int64(slotCount) * Int64(slotSize)
        if length > Int64(CacheGeometry.maximumFileLength) {
            return "the file would be " + String(length) + " bytes; the limit is " + String(CacheGeometry.maximumFileLength)
        }
        return nil
    }

    private var recordAreaOffsetWide: Int64 {
        let page = Int64(CacheLayout.headerAreaSize)
        let raw = Int64(slotCount) * Int64(CacheLayout.descriptorSize)
        return page + (raw + page - 1) / page * page
    }
}
