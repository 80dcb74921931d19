import Experiments
import Foundation
import Results
import XCTest

/// Reading experiment files: paths resolved against the file, defaults filled in, and every mistake
/// refused with its line and column.
final class ExperimentFileTests: XCTestCase {
    static let vocabulary = ExperimentVocabulary(datasets: ["montgomery", "msd-spleen", "manifest"],
                                                 splitMethods: ["official", "systematic", "stratified"],
                                                 uncertainPolicies: ["zeros", "ones", "ignore"], modalities: ["ct", "mri", "xray", "other"],
                                                 presets: ["dinov2-vits14", "mae-vit-l16"])
    static let file = URL(fileURLWithPath: "/studies/a/experiment.yaml")

    static let example = """
        output: out
        models:
          - {name: dinov2-vits14, checkpoint: ../ckpt/vits14.pth}
          - name: dinov2-vitb14
            checkpoint: /ckpt/vitb14.pth
        datasets:
          - name: montgomery
            root: data/montgomery
            split: {method: systematic, validation: 0.25, test: 0.25}
          - name: manifest
            root: data/m.csv
            modality: xray
            split: {file: splits/m.csv}
        sizes: [224, 448]
        seeds: [0, 1]
        protocols:
          knn: {k: [10, 20]}
          linear: {learning_rates: [0.001, 0.01], epochs: 2}
          segment: {decoders: [linear, scratch], learning_rates: [0.001]}
        """

    func parse(_ text: String) throws -> Experiment { try Experiment.parse(text, file: Self.file, vocabulary: Self.vocabulary) }

    func testExampleIsReadWithPathsAndDefaults() throws {
        let experiment = try parse(Self.example)
        XCTAssertEqual(experiment.output.path, "/studies/a/out")
        XCTAssertEqual(experiment.databaseURL.path, "/studies/a/out/results.sqlite")
        XCTAssertEqual(experiment.models.map(\.checkpoint?.path), ["/studies/ckpt/vits14.pth", "/ckpt/vitb14.pth"])
        XCTAssertEqual(experiment.datasets[0].split, .method(name: "systematic", seed: 0, validation: 0.25, test: 0.25))
        XCTAssertEqual(experiment.datasets[1].split, .file(URL(fileURLWithPath: "/studies/a/splits/m.csv")))
        XCTAssertEqual(experiment.datasets[1].modality, "xray")
        XCTAssertEqual(experiment.sizes, [224, 448])
        XCTAssertEqual(experiment.seeds, [0, 1])
        XCTAssertEqual(experiment.bootstrap, 1000)
        XCTAssertEqual(experiment.protocols.map(\.kind), [.knn, .linear, .segment])
        let linear = experiment.protocols[1].settings
        XCTAssertEqual(linear["epochs"], .int(2))
        XCTAssertEqual(linear["batch_size"], .int(128), "default")
        XCTAssertEqual(linear["blocks"], .list([.int(1), .int(4)]), "default")
        XCTAssertEqual(experiment.protocols[0].settings["temperature"], .double(0.07))
    }

    func assertRefused(_ text: String, at position: (Int, Int)?, mentioning words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(text), file: file, line: line) { error in
            guard let error = error as? ExperimentFileError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(error.file, Self.file.path, file: file, line: line)
            if let position {
                XCTAssertEqual(error.line, position.0, "\(error)", file: file, line: line)
                XCTAssertEqual(error.column, position.1, "\(error)", file: file, line: line)
                XCTAssertTrue(error.description.hasPrefix("\(Self.file.path):\(position.0):\(position.1): "), error.description, file: file, line: line)
            }
            for word in words { XCTAssertTrue(error.description.contains(word), "\(error) lacks \(word)", file: file, line: line) }
        }
    }

    func testUnknownKeyNamesItsLineAndTheAllowedKeys() {
        assertRefused(Self.example.replacingOccurrences(of: "knn: {k: [10, 20]}", with: "knn: {k: [10, 20], kk: 3}"), at: (17, 22),
                      mentioning: ["unknown key 'kk'", "protocol knn", "allowed: k, blocks, patch_mean, temperature"])
        assertRefused(Self.example + "\nthreads: 4", at: (20, 1), mentioning: ["unknown key 'threads'", "allowed: output, models"])
        assertRefused(Self.example.replacingOccurrences(of: "  segment:", with: "  segmentation:"), at: (19, 3),
                      mentioning: ["unknown key 'segmentation'", "knn, linear, logreg, fewshot, segment, finetune"])
    }

    func testWrongTypesAreRefusedAtTheirValue() {
        assertRefused(Self.example.replacingOccurrences(of: "epochs: 2", with: "epochs: two"), at: (18, 51), mentioning: ["'epochs' must be an integer", "two"])
        assertRefused(Self.example.replacingOccurrences(of: "sizes: [224, 448]", with: "sizes: [224, big]"), at: (14, 14), mentioning: ["'sizes' must be an integer"])
        assertRefused(Self.example.replacingOccurrences(of: "k: [10, 20]", with: "k: {a: 1}"), at: (17, 12), mentioning: ["'k' must be a list"])
        assertRefused(Self.example.replacingOccurrences(of: "decoders: [linear, scratch]", with: "decoders: [linear, deeplab]"), at: (19, 32),
                      mentioning: ["'decoders' must be one of linear, unet, scratch", "deeplab"])
        assertRefused(Self.example.replacingOccurrences(of: "{name: dinov2-vits14, checkpoint: ../ckpt/vits14.pth}", with: "dinov2-vits14"), at: (3, 5),
                      mentioning: ["a model must be a mapping"])
    }

    /// A model may name the preset its checkpoint must fit; an unknown one is refused at its value.
    func testModelPresetIsReadAndCheckedAgainstTheCatalog() throws {
        let text = Self.example.replacingOccurrences(of: "checkpoint: /ckpt/vitb14.pth", with: "checkpoint: /ckpt/vitb14.pth\n    preset: mae-vit-l16")
        XCTAssertEqual(try parse(text).models.map(\.preset), [nil, "mae-vit-l16"])
        assertRefused(text.replacingOccurrences(of: "preset: mae-vit-l16", with: "preset: mae-vit-b16"), at: (6, 13),
                      mentioning: ["'preset' must be one of dinov2-vits14, mae-vit-l16", "mae-vit-b16"])
        assertRefused(Self.example.replacingOccurrences(of: "{name: dinov2-vits14, checkpoint: ../ckpt/vits14.pth}", with: "{name: dinov2-vits14}"),
                      at: (3, 5), mentioning: ["a model needs a 'checkpoint', a 'preset'"])
    }

    func testMissingKeysAndUnknownNamesAreRefused() {
        assertRefused(Self.example.replacingOccurrences(of: "output: out\n", with: ""), at: (1, 1), mentioning: ["missing the required key 'output'"])
        assertRefused(Self.example.replacingOccurrences(of: "linear: {learning_rates: [0.001, 0.01], epochs: 2}", with: "linear: {epochs: 2}"),
                      at: (18, 11), mentioning: ["protocol linear is missing the required key 'learning_rates'"])
        assertRefused(Self.example.replacingOccurrences(of: "name: montgomery", with: "name: shenzen"), at: (7, 11),
                      mentioning: ["'name' must be one of montgomery, msd-spleen, manifest", "shenzen"])
        assertRefused(Self.example.replacingOccurrences(of: "{file: splits/m.csv}", with: "{file: s.csv, seed: 3}"), at: (13, 32),
                      mentioning: ["'seed' applies to a split method"])
        assertRefused(Self.example.replacingOccurrences(of: "{file: splits/m.csv}", with: "{}"), at: (13, 12), mentioning: ["either a 'file' or a 'method'"])
    }

    /// A `label` names a dataset in results and cells (so one adapter can be listed twice); without it the
    /// registry name does, and two entries with the same name are refused.
    func testLabelsNameDatasetsAndMustDiffer() throws {
        let twice = Self.example.replacingOccurrences(of: """
              - name: manifest
                root: data/m.csv
            """, with: """
              - name: manifest
                label: chest
                root: data/c.csv
                split: {method: stratified}
              - name: manifest
                label: knee
                root: data/m.csv
            """)
        let experiment = try parse(twice)
        XCTAssertEqual(experiment.datasets.map(\.key), ["montgomery", "chest", "knee"])
        XCTAssertEqual(experiment.datasets.map(\.name), ["montgomery", "manifest", "manifest"])
        XCTAssertEqual(Set(ExperimentMatrix.cells(of: experiment).map(\.dataset)), ["montgomery", "chest", "knee"])
        assertRefused(twice.replacingOccurrences(of: "label: knee", with: "label: chest"), at: (7, 3),
                      mentioning: ["dataset (give each a distinct label) 'chest' is listed twice"])
        assertRefused(twice.replacingOccurrences(of: "label: knee", with: "label: knee joint"), at: (15, 12),
                      mentioning: ["a name holds letters, digits"])
    }

    func testTextThatIsNotYAMLOrMissingFileIsRefused() throws {
        assertRefused("output: [unclosed\nmodels: x", at: nil, mentioning: ["is not valid YAML"])
        assertRefused("", at: nil, mentioning: ["is empty"])
        assertRefused("just text", at: (1, 1), mentioning: ["the experiment must be a mapping"])
        XCTAssertThrowsError(try Experiment.read(contentsOf: URL(fileURLWithPath: "/nonexistent/e.yaml"), vocabulary: Self.vocabulary)) { error in
            XCTAssertTrue("\(error)".hasPrefix("/nonexistent/e.yaml: cannot be read"), "\(error)")
        }
    }
}
