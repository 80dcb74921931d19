import MedicalImaging

/// Every dataset adapter RadProbe ships, by the name used on the command line.
///
/// Options that change what an adapter reads (CheXpert's uncertain-label policy, the modality of a
/// user's manifest) are passed in; everything else is fixed by the published layout.
public enum DatasetRegistry {
    /// The adapters, in the order `radprobe datasets list` shows them.
    public static func adapters(uncertainLabels: UncertainLabelPolicy = .zeros,
                                manifestModality: PreprocessingPipeline.Modality = .other) -> [any DatasetAdapter] {
        [
            NIHChestXray14(), CheXpert(uncertainLabels: uncertainLabels), MontgomeryCounty(), SARSCoV2CT(),
            DecathlonDataset.spleen, DecathlonDataset.hippocampus, DecathlonDataset.heart,
            DecathlonDataset.amosCT, DecathlonDataset.amosMRI, BrainTumourFigshare(),
            ManifestDataset(modality: manifestModality),
        ]
    }

    /// The names of every adapter.
    public static var names: [String] { adapters().map(\.name) }

    /// The adapter called `name`, or nil.
    public static func adapter(named name: String, uncertainLabels: UncertainLabelPolicy = .zeros,
                               manifestModality: PreprocessingPipeline.Modality = .other) -> (any DatasetAdapter)? {
        adapters(uncertainLabels: uncertainLabels, manifestModality: manifestModality).first { $0.name == name }
    }
}
