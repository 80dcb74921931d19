import Experiments
import Foundation
import Results
import XCTest

/// Expanding an experiment into cells and their configurations.
final class ExperimentMatrixTests: XCTestCase {
    func experiment(_ protocols: String, seeds: String = "[0]") throws -> Experiment {
        try Experiment.parse("""
            output: out
            models: [{name: a, checkpoint: a.pth}, {name: b, checkpoint: b.pth}]
            datasets: [{name: montgomery, root: m, split: {method: official}}]
            sizes: [224]
            seeds: \(seeds)
            protocols:
            \(protocols)
            """, file: URL(fileURLWithPath: "/e/x.yaml"), vocabulary: ExperimentFileTests.vocabulary)
    }

    func testAxesSplitCellsAndGridsStayWhole() throws {
        let cells = ExperimentMatrix.cells(of: try experiment("""
              knn: {k: [10, 20]}
              fewshot: {shots: [1, 2], draws: 3, learning_rates: [0.01]}
              segment: {decoders: [linear, unet, scratch], learning_rates: [0.001, 0.01]}
              finetune: {modes: [full, lora], backbone_learning_rates: [0.0001, 0.00001]}
            """, seeds: "[0, 1]"))
        // Per model and seed: knn 1, fewshot 2 × 3, segment 2 (+ scratch once), finetune 2 × 2.
        XCTAssertEqual(cells.count, 2 * 2 * (1 + 6 + 2 + 4) + 2)
        XCTAssertEqual(cells.filter { $0.protocolName == "segment-scratch" }.map(\.model), ["scratch", "scratch"])
        let knn = try XCTUnwrap(cells.first)
        XCTAssertEqual([knn.model, knn.dataset, knn.protocolName], ["a", "montgomery", "knn"])
        XCTAssertEqual(knn.settings["k"], .list([.int(10), .int(20)]))
        let draws = cells.filter { $0.protocolName == "fewshot" && $0.model == "a" && $0.seed == 0 }
        XCTAssertEqual(draws.map { [$0.settings["shots"], $0.settings["draw"]] }, [1, 2].flatMap { n in (0..<3).map { [.int(n), .int($0)] } })
        let lora = try XCTUnwrap(cells.first { $0.protocolName == "finetune-lora" })
        XCTAssertEqual(lora.settings["lora_rank"], .int(48))
        XCTAssertNil(cells.first { $0.protocolName == "finetune-full" }?.settings["lora_rank"], "LoRA settings belong to LoRA cells only")
        XCTAssertEqual(lora.settings["backbone_learning_rate"], .double(1e-4))
        XCTAssertNil(cells.first { $0.protocolName == "segment-linear" }?.settings["scratch_width"])
    }

    func testDatasetsRunOnlyTheProtocolsTheyName() throws {
        let text = """
            output: out
            models: [{name: a, checkpoint: a.pth}]
            datasets: [{name: montgomery, root: m, split: {method: official}, protocols: [segment]}, {name: manifest, root: c, split: {method: official}}]
            sizes: [224]
            protocols: {knn: {k: [10]}, segment: {decoders: [linear], learning_rates: [0.001]}}
            """
        let cells = ExperimentMatrix.cells(of: try Experiment.parse(text, file: URL(fileURLWithPath: "/e/x.yaml"), vocabulary: ExperimentFileTests.vocabulary))
        XCTAssertEqual(cells.map { "\($0.dataset) \($0.protocolName)" }, ["montgomery segment-linear", "manifest knn", "manifest segment-linear"])
    }

    /// A model restricted to some protocols and sizes (a SAM encoder to the probes at 1024) gets only their cells.
    func testModelsRunOnlyTheProtocolsAndSizesTheyName() throws {
        let text = """
            output: out
            models: [{name: a, checkpoint: a.pth}, {name: sam, preset: mae-vit-l16, protocols: [knn], sizes: [1024]}]
            datasets: [{name: montgomery, root: m, split: {method: official}}]
            sizes: [224]
            protocols: {knn: {k: [10]}, segment: {decoders: [linear], learning_rates: [0.001]}}
            """
        let experiment = try Experiment.parse(text, file: URL(fileURLWithPath: "/e/x.yaml"), vocabulary: ExperimentFileTests.vocabulary)
        XCTAssertNil(experiment.models[1].checkpoint)
        XCTAssertEqual(ExperimentMatrix.cells(of: experiment).map { "\($0.model) \($0.size) \($0.protocolName)" },
                       ["a 224 knn", "a 224 segment-linear", "sam 1024 knn"])
    }

    func testConfigurationHoldsTheRequiredKeysAndChangesWithTheFiles() throws {
        let cell = try XCTUnwrap(ExperimentMatrix.cells(of: try experiment("  knn: {k: [10]}")).first)
        let configuration = try cell.configuration(checkpointSHA256: "c1", splitSHA256: "s1", extra: ["bootstrap": .int(1000)])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(configuration.json.utf8)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["model", "dataset", "protocol", "size", "seed", "checkpoint_sha256", "split_sha256", "bootstrap",
                                          "k", "blocks", "patch_mean", "temperature"])
        XCTAssertEqual(object["protocol"] as? String, "knn")
        XCTAssertEqual(configuration, try cell.configuration(checkpointSHA256: "c1", splitSHA256: "s1", extra: ["bootstrap": .int(1000)]))
        XCTAssertNotEqual(configuration.hash, try cell.configuration(checkpointSHA256: "c2", splitSHA256: "s1", extra: ["bootstrap": .int(1000)]).hash)
        XCTAssertNotEqual(configuration.hash, try cell.configuration(checkpointSHA256: "c1", splitSHA256: "s2", extra: ["bootstrap": .int(1000)]).hash)
    }
}
