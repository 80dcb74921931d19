// swift-tools-version:6.0
import PackageDescription

/// RadProbe: DINOv2 and the study's other backbones (supervised ViT, CLIP, OpenCLIP, MAE, MSN, SAM,
/// torchvision CNNs) on a CPU, with numeric parity to the reference code, and the study's protocols.
/// Dependencies point down the list: CBLAS → TensorCore → TensorKernels → Layers → Models → Backbones.
let package = Package(
    name: "RadProbe",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "radprobe", targets: ["radprobe"]),
        .library(name: "RadProbe", targets: [
            "Models", "Checkpoints", "MedicalImaging", "Backbones", "SegmentAnything", "ConvolutionalNetworks", "ModelDownloads",
        ]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", pkgConfig: "libturbojpeg",
                       providers: [.apt(["libturbojpeg0-dev"]), .brew(["jpeg-turbo"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CDeflate", path: "Sources/CDeflate", pkgConfig: "libdeflate",
                       providers: [.apt(["libdeflate-dev"]), .brew(["libdeflate"])]),
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5",
                       providers: [.apt(["libhdf5-dev"]), .brew(["hdf5"])]),
        .target(name: "CPNGDecode", dependencies: ["CPNG"]),
        .target(name: "TensorCore"),
        .target(name: "Randomness"),
        .target(name: "FileAccess", swiftSettings: [.unsafeFlags(["-O"])]),
        .target(name: "TensorKernels", dependencies: [
            "TensorCore", "CBLAS", .target(name: "CDNNL", condition: .when(platforms: [.linux])),
        ]),
        .target(name: "Layers", dependencies: ["TensorCore", "TensorKernels"]),
        .target(name: "Checkpoints", dependencies: ["TensorCore", "FileAccess"]),
        .target(name: "Models", dependencies: ["TensorCore", "TensorKernels", "Layers", "Checkpoints"]),
        .target(name: "MedicalImaging", dependencies: ["TensorCore", "Randomness", "TensorKernels", "FileAccess", "CPNG", "CPNGDecode", "CJPEG", "CZlib", "CDeflate", "CHDF5"]),
        .target(name: "Datasets", dependencies: ["MedicalImaging", "Randomness", "FileAccess"]),
        .target(name: "Evaluation", dependencies: ["Datasets", "MedicalImaging", "Checkpoints", "TensorCore", "FileAccess"]),
        .target(name: "Metrics", dependencies: ["Randomness"]),
        .target(name: "Backpropagation", dependencies: ["TensorCore", "TensorKernels", "Layers", "Models", "Training"]),
        .target(name: "Convolution", dependencies: ["TensorCore", "TensorKernels"]),
        .target(name: "FineTuning", dependencies: ["TensorCore", "TensorKernels", "Layers", "Models", "Backpropagation", "Training", "Randomness"]),
        .target(name: "SegmentationDecoders", dependencies: ["TensorCore", "TensorKernels", "Convolution", "Training", "Randomness"]),
        .target(name: "Training", dependencies: ["TensorCore", "TensorKernels"]),
        .target(name: "Results", dependencies: ["FileAccess", .product(name: "GRDB", package: "GRDB.swift")]),
        .target(name: "Experiments", dependencies: ["Results", "FileAccess", .product(name: "Yams", package: "Yams")]),
        .target(name: "Reporting", dependencies: ["Results", "FileAccess", "TensorCore", "TensorKernels", "MedicalImaging", "Models"]),
        .target(name: "ConvolutionalNetworks", dependencies: ["Convolution", "Checkpoints", "MedicalImaging", "TensorCore", "TensorKernels", "FileAccess"]),
        .target(name: "SegmentAnything", dependencies: ["Layers", "Convolution", "Checkpoints", "TensorCore", "TensorKernels", "FileAccess"]),
        .target(name: "ModelDownloads", dependencies: ["FileAccess"]),
        .target(name: "Backbones", dependencies: [
            "Models", "SegmentAnything", "ConvolutionalNetworks", "ModelDownloads", "Checkpoints", "MedicalImaging", "TensorCore", "TensorKernels",
        ]),
        .target(name: "ClassificationFineTuning", dependencies: [
            "FineTuning", "Backpropagation", "Training", "Models", "Layers", "Checkpoints", "MedicalImaging", "Datasets", "Metrics",
            "Randomness", "TensorCore", "TensorKernels", "FileAccess",
        ]),
        .target(name: "SegmentationTraining", dependencies: [
            "SegmentationDecoders", "Convolution", "Training", "Models", "Checkpoints", "MedicalImaging", "Datasets", "Evaluation", "Metrics",
            "Randomness", "TensorCore", "TensorKernels", "FileAccess",
        ]),
        .target(name: "NearestNeighbours", dependencies: ["TensorCore", "TensorKernels"]),
        .target(name: "LinearProbes", dependencies: ["TensorCore", "TensorKernels", "Training", "Randomness"]),
        .target(name: "ClassificationProtocols", dependencies: [
            "Evaluation", "Datasets", "Metrics", "NearestNeighbours", "LinearProbes", "Training", "TensorCore", "TensorKernels", "FileAccess",
        ]),
        .executableTarget(
            name: "radprobe",
            dependencies: [
                "Models", "Checkpoints", "MedicalImaging", "Datasets", "Evaluation", "TensorKernels",
                "Metrics", "NearestNeighbours", "LinearProbes", "Training", "ClassificationProtocols",
                "Backpropagation", "FineTuning", "ClassificationFineTuning", "Convolution", "SegmentationDecoders", "SegmentationTraining",
                "Results", "Experiments", "Reporting", "ConvolutionalNetworks",
                "SegmentAnything", "ModelDownloads", "Backbones",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["TensorCore", "Checkpoints"], path: "Sources/TestSupport"),
        .testTarget(name: "TensorKernelsTests", dependencies: ["TensorKernels", "TestSupport"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Layers", "Checkpoints", "TestSupport"]),
        .testTarget(name: "MedicalImagingTests", dependencies: ["MedicalImaging", "Randomness", "TestSupport"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Randomness", "MedicalImaging", "TestSupport"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Datasets", "TestSupport", "Checkpoints", "TensorCore"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "TestSupport"]),
        .testTarget(name: "BackpropagationTests", dependencies: ["Backpropagation", "Models", "Layers", "Checkpoints", "TensorCore", "TestSupport"]),
        .testTarget(name: "ConvolutionTests", dependencies: ["Convolution", "TensorCore", "TestSupport"]),
        .testTarget(name: "FineTuningTests", dependencies: ["FineTuning", "Backpropagation", "Models", "Layers", "Checkpoints", "Training", "TensorCore", "Randomness", "TestSupport"]),
        .testTarget(name: "SegmentationDecodersTests", dependencies: ["SegmentationDecoders", "Convolution", "Training", "TensorCore", "TestSupport"]),
        .testTarget(name: "ClassificationFineTuningTests", dependencies: [
            "ClassificationFineTuning", "FineTuning", "Backpropagation", "Training", "Models", "Layers", "Checkpoints", "MedicalImaging",
            "Datasets", "Metrics", "Randomness", "TensorCore", "TestSupport",
        ]),
        .testTarget(name: "SegmentationTrainingTests", dependencies: [
            "SegmentationTraining", "SegmentationDecoders", "Convolution", "Training", "Models", "Checkpoints", "MedicalImaging", "Datasets",
            "Evaluation", "Metrics", "Randomness", "TensorCore", "TestSupport",
        ]),
        .testTarget(name: "ResultsTests", dependencies: ["Results", "FileAccess", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "Results", "FileAccess", "TestSupport"]),
        .testTarget(name: "ReportingTests", dependencies: ["Reporting", "Results", "FileAccess", "TensorCore", "MedicalImaging", "TestSupport"]),
        .testTarget(name: "ConvolutionalNetworksTests", dependencies: ["ConvolutionalNetworks", "Convolution", "Checkpoints", "MedicalImaging", "TensorCore", "TestSupport"]),
        .testTarget(name: "SegmentAnythingTests", dependencies: ["SegmentAnything", "Checkpoints", "TensorCore", "TensorKernels", "TestSupport"]),
        .testTarget(name: "ModelDownloadsTests", dependencies: ["ModelDownloads", "FileAccess", "TestSupport"]),
        .testTarget(name: "BackbonesTests", dependencies: [
            "Backbones", "Models", "SegmentAnything", "ConvolutionalNetworks", "ModelDownloads", "Checkpoints", "MedicalImaging", "TensorCore",
            "TensorKernels", "TestSupport",
        ]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "TensorCore", "TestSupport"]),
        .testTarget(name: "NearestNeighboursTests", dependencies: ["NearestNeighbours", "TensorCore", "TestSupport"]),
        .testTarget(name: "LinearProbesTests", dependencies: ["LinearProbes", "Training", "TensorCore", "TestSupport"]),
        .testTarget(name: "ClassificationProtocolsTests", dependencies: [
            "ClassificationProtocols", "Evaluation", "Datasets", "Metrics", "TensorCore", "TensorKernels", "TestSupport", "Randomness",
            "NearestNeighbours", "LinearProbes", "FileAccess",
        ]),
        .testTarget(name: "RadProbeCLITests", dependencies: [
            "TestSupport", "Checkpoints", "FileAccess", "MedicalImaging", "Evaluation", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
    ]
)
