import Checkpoints
import Evaluation
import FileAccess
import Foundation
import TensorCore
import TestSupport
import XCTest

/// `radprobe models list/download` and `embed`/`extract` with backbones other than DINOv2 (the SAM and
/// torchvision fixtures of the families' parity tests).
final class BackboneFamiliesCommandTests: XCTestCase {
    func testListShowsEveryPresetWithItsFamilyCountSourceAndDigest() throws {
        let run = try radprobeSucceeds(["models", "list", "--json"])
        let records = try run.stdout.split(separator: "\n").map { line in
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        let byName = Dictionary(uniqueKeysWithValues: records.map { ($0["preset"] as! String, $0) })
        for name in ["dinov2-vitl14", "vit-l16-in21k", "clip-vit-l14", "openclip-vit-h14", "mae-vit-l16", "msn-vit-l16", "sam-vit-l",
                     "resnet152", "densenet201", "vgg19"] {
            XCTAssertNotNil(byName[name], "models list lacks \(name)")
        }
        XCTAssertEqual(byName["sam-vit-l"]?["parameters"] as? Int, 308_278_272)
        XCTAssertEqual(byName["sam-vit-l"]?["input_size"] as? Int, 1024)
        XCTAssertEqual(byName["sam-vit-l"]?["family"] as? String, "sam")
        XCTAssertEqual(byName["resnet152"]?["url"] as? String, "https://download.pytorch.org/models/resnet152-394f9c45.pth")
        XCTAssertEqual(byName["clip-vit-l14"]?["digest"] as? String, "no pinned digest (give --sha256)")
        let table = try radprobeSucceeds(["models", "list"]).stdout
        XCTAssertTrue(table.contains("openclip-vit-h14") && table.contains("OpenCLIP") && table.contains("630.8M"), table)
    }

    /// A download through a loopback mirror with the user's digest lands in the cache; `embed --model`
    /// then reads the cached file (here a SAM checkpoint, which the CLIP preset refuses).
    func testDownloadThroughAMirrorFillsTheCacheThatModelReads() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let payload = try Data(contentsOf: Fixtures.url("sam/sam_tiny.pth"))
        server.setRoute(.payload(payload), for: "/openai--clip-vit-large-patch14--pytorch_model.bin")
        let cacheHome = try temporaryDirectory()
        let digest = SHA256.hex([UInt8](payload))
        let run = try radprobeSucceeds(["models", "download", "clip-vit-l14", "--mirror", server.url("/").absoluteString, "--sha256", digest],
                                       environment: ["XDG_CACHE_HOME": cacheHome.path])
        let cached = cacheHome.appendingPathComponent("radprobe/openai--clip-vit-large-patch14--pytorch_model.bin")
        XCTAssertEqual(try Data(contentsOf: cached), payload)
        XCTAssertTrue(run.stdout.contains(cached.path), run.stdout)

        let out = try temporaryDirectory()
        let embedded = try radprobe(["embed", "--model", "clip-vit-l14", "--image", CLIFixture.path("imaging/png/grey8.png"), "--out", out.path],
                                    environment: ["XDG_CACHE_HOME": cacheHome.path])
        assertFails(embedded, mentioning: [cached.path])
        let missing = try radprobe(["embed", "--model", "sam-vit-l", "--image", CLIFixture.path("imaging/png/grey8.png"), "--out", out.path],
                                   environment: ["XDG_CACHE_HOME": cacheHome.path])
        assertFails(missing, mentioning: ["not in the download cache", "radprobe models download sam-vit-l"])
    }

    /// A file whose digest is not the pinned one is refused and nothing is left in the cache.
    func testADownloadWithTheWrongDigestIsRefusedAndRemoved() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        server.setRoute(.payload(Data("not the weights".utf8)), for: "/resnet152-394f9c45.pth")
        let cache = try temporaryDirectory()
        let run = try radprobe(["models", "download", "resnet152", "--mirror", server.url("/").absoluteString, "--cache-dir", cache.path])
        assertFails(run, mentioning: ["394f9c45966e3651a89bbb78a48410a6755854ce4a5ab64927cf1c7247f85e58", SHA256.hex(Array("not the weights".utf8))])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache.path), [])
        assertFails(try radprobe(["models", "download", "clip-vit-l14", "--cache-dir", cache.path]), mentioning: ["--sha256"])
        assertFails(try radprobe(["models", "download", "vit-l14", "--cache-dir", cache.path]), mentioning: ["unknown preset vit-l14"])
    }

    /// A torchvision ResNet through `embed`: the pooled features as cls.npy, the last stage as patch tokens.
    func testEmbedRunsAResNetCheckpoint() throws {
        let folder = try temporaryDirectory()
        let input = try XCTUnwrap(SafetensorsFile.read(contentsOf: Fixtures.url("cnn/input.safetensors"))["input"])
        let tensor = folder.appendingPathComponent("input.npy")
        try NumPyArray.encode(input).write(to: tensor)
        let out = folder.appendingPathComponent("out")
        let run = try embed(CLIFixture.path("cnn/resnet_basic.pth"), .tensor(tensor.path), out: out, "--layers", "1")
        XCTAssertEqual(run.exitCode, 0, "\(run)")
        XCTAssertTrue(run.stdout.contains("ResNet"), run.stdout)
        let pooled = try XCTUnwrap(SafetensorsFile.read(contentsOf: Fixtures.url("cnn/resnet_basic.reference.safetensors"))["pooled"])
        assertClose(try output(out, "cls"), pooled, tolerance: 1e-4 * pooled.scalars.map(abs).max()!)
        XCTAssertEqual(try output(out, "layers_cls").shape, [1] + pooled.shape)
        let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("embedding.json"))) as? [String: Any])
        XCTAssertEqual(record["family"] as? String, "resnet")
        assertFails(try embed(CLIFixture.path("cnn/resnet_basic.pth"), .tensor(tensor.path), out: out, "--layers", "2"),
                    mentioning: ["--layers 2 exceeds the 1 layer of features"])
    }

    /// An image gets the family's transform (torchvision's shorter side 256 and centre crop for a ResNet)
    /// unless `--preprocessing study` asks for the study's square resize.
    func testImagesGetTheFamilysPreprocessingOrTheStudys() throws {
        for (choice, expected) in [("family", "resize[224,short256-crop,bilinear-aa] > imagenet"), ("study", "resize[224,square,bilinear-aa] > imagenet")] {
            let out = try temporaryDirectory()
            try radprobeSucceeds(["embed", "--checkpoint", CLIFixture.path("cnn/resnet_basic.pth"), "--image", CLIFixture.path("imaging/png/grey8.png"),
                                  "--preprocessing", choice, "--out", out.path, "--threads", "2"])
            let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("embedding.json"))) as? [String: Any])
            XCTAssertTrue((record["preprocessing"] as? String)?.hasSuffix(expected) == true, "\(choice): \(record)")
        }
    }

    /// SAM through `embed` (its own size by default, any other refused) and `extract` (one level: L = 1).
    func testSAMEmbedsAtItsSizeAndExtractsOneLevel() throws {
        let sam = CLIFixture.path("sam/sam_tiny.pth")
        let out = try temporaryDirectory().appendingPathComponent("out")
        try radprobeSucceeds(["embed", "--checkpoint", sam, "--image", CLIFixture.path("imaging/png/grey8.png"), "--out", out.path, "--threads", "2"])
        XCTAssertEqual(try output(out, "cls").shape, [1, 16])
        XCTAssertEqual(try output(out, "patch").shape, [1, 49, 16])
        let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("embedding.json"))) as? [String: Any])
        XCTAssertEqual(record["family"] as? String, "sam")
        XCTAssertTrue((record["preprocessing"] as? String)?.contains("resize[112,square,bilinear-aa] > imagenet") == true, "\(record)")
        assertFails(try radprobe(["embed", "--checkpoint", sam, "--image", CLIFixture.path("imaging/png/grey8.png"), "--size", "224", "--out", out.path]),
                    mentioning: ["--size 224", "112×112 inputs only"])

        let folder = try temporaryDirectory(), store = folder.appendingPathComponent("store")
        try CLIFixture.writeManifest(images: 3, in: folder)
        let extracted = try radprobeSucceeds(["extract", "manifest", "--root", folder.path, "--checkpoint", sam, "--out", store.path, "--threads", "2"])
        XCTAssertTrue(extracted.stdout.contains("cls [1, 16], patch_mean [1, 16]"), extracted.stdout)
        let opened = try FeatureStore.open(at: store)
        XCTAssertEqual(opened.plan.key.inputSize, 112)
        XCTAssertEqual(try opened.read(feature: "cls").values.shape, [3, 1, 16])
        assertFails(try radprobe(["extract", "manifest", "--root", folder.path, "--checkpoint", sam, "--layers", "4", "--out",
                                  folder.appendingPathComponent("other").path]),
                    mentioning: ["--layers 4 exceeds the 1 layer of features"])
    }
}
