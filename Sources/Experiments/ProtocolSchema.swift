/// The protocols an experiment file can name, and the settings each takes.
public enum ExperimentProtocol: String, CaseIterable, Sendable {
    case knn, linear, logreg, fewshot, segment, finetune

    /// The settings of the protocol, in the order they are documented.
    public var settings: [SettingSchema] {
        switch self {
        case .knn:
            [.init("k", .intList), .init("blocks", .int, default: .int(1)), .init("patch_mean", .bool, default: .bool(false)),
             .init("temperature", .double, default: .double(0.07))]
        case .linear:
            [.init("learning_rates", .doubleList), .init("blocks", .intList, default: .list([.int(1), .int(4)])),
             .init("epochs", .int, default: .int(10)), .init("batch_size", .int, default: .int(128))]
        case .logreg:
            [.init("c", .doubleList), .init("blocks", .int, default: .int(1)), .init("patch_mean", .bool, default: .bool(false)),
             .init("max_iterations", .int, default: .int(1000))]
        case .fewshot:
            [.init("shots", .intList), .init("draws", .int, default: .int(5)), .init("learning_rates", .doubleList),
             .init("blocks", .intList, default: .list([.int(1), .int(4)])), .init("epochs", .int, default: .int(10)),
             .init("batch_size", .int, default: .int(128))]
        case .segment:
            [.init("decoders", .choiceList(["linear", "unet", "scratch"])), .init("learning_rates", .doubleList),
             .init("epochs", .int, default: .int(20)), .init("batch_size", .int, default: .int(8)),
             .init("loss", .choice(["dice", "dice-ce"]), default: .string("dice")), .init("weight_decay", .double, default: .double(1e-4)),
             .init("scratch_width", .int, default: .int(64))]
        case .finetune:
            [.init("modes", .choiceList(["full", "lora", "bitfit"])), .init("backbone_learning_rates", .doubleList),
             .init("head_learning_rate", .double, default: .double(1e-3)), .init("epochs", .int, default: .int(10)),
             .init("batch_size", .int, default: .int(32)), .init("weight_decay", .double, default: .double(0.05)),
             .init("warmup_epochs", .count, default: .int(1)), .init("clip_norm", .double, default: .double(1)),
             .init("augmentation", .bool, default: .bool(true)), .init("lora_rank", .int, default: .int(48)),
             .init("lora_alpha", .double, default: .double(16)), .init("lora_dropout", .double, default: .double(0.1))]
        }
    }

    /// Whether its results carry bootstrap intervals (and so depend on the bootstrap settings).
    var usesBootstrap: Bool { self != .segment }
}

/// One setting of a protocol: its key, the type of its value, and its default (nil: required).
public struct SettingSchema: Sendable {
    public enum Kind: Sendable, Equatable {
        /// An integer ≥ 1 (`count`: ≥ 0); a number ≥ 0; lists of integers ≥ 1 and of numbers > 0.
        case int, count, double, bool, intList, doubleList
        case choice([String]), choiceList([String])
    }

    public let key: String
    public let kind: Kind
    public let defaultValue: ConfigurationValue?

    init(_ key: String, _ kind: Kind, default defaultValue: ConfigurationValue? = nil) {
        self.key = key
        self.kind = kind
        self.defaultValue = defaultValue
    }
}
