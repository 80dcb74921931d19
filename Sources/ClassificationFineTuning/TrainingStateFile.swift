import Checkpoints
import FineTuning
import Foundation
import TensorCore
import Training

/// The state a run resumes from, written atomically after every epoch as safetensors: every trainable parameter
/// as `parameter.<key>`, AdamW's moments as `adamw.m.<key>` and `adamw.v.<key>`, and in the metadata the
/// `FineTuningRecord` as JSON (`radprobe.finetune.record`: identity, configuration, curves, best epoch, steps).
enum TrainingStateFile {
    static let recordKey = "radprobe.finetune.record"

    static func write(_ tuner: FineTuner, record: FineTuningRecord, to url: URL) throws {
        var tensors: [String: Tensor] = [:]
        let state = tuner.optimizerState
        for (index, (key, value)) in tuner.trainableParameters.enumerated() {
            tensors["parameter." + key] = value
            tensors["adamw.m." + key] = state.firstMoments[index]
            tensors["adamw.v." + key] = state.secondMoments[index]
        }
        try SafetensorsFile.write(StateDict(tensors, source: url.path), to: url, metadata: [recordKey: try record.jsonText()])
    }

    /// The record of the state file at `url`.
    static func record(at url: URL) throws -> (record: FineTuningRecord, tensors: StateDict) {
        let stateDict = try SafetensorsFile.read(contentsOf: url)
        guard let text = stateDict.metadata[recordKey] else {
            throw FineTuningError("\(url.path) is not a fine-tuning state file (no \(recordKey) metadata)")
        }
        return (try FineTuningRecord.decode(jsonText: text), stateDict)
    }

    /// Puts the saved parameters and optimiser state into `tuner`.
    static func restore(_ tuner: inout FineTuner, from stateDict: StateDict, steps: Int) throws {
        var parameters: [String: Tensor] = [:]
        for key in tuner.trainableKeys { parameters[key] = stateDict["parameter." + key] }
        let state = AdamW.State(steps: steps, firstMoments: tuner.trainableKeys.map { stateDict["adamw.m." + $0] },
                                secondMoments: tuner.trainableKeys.map { stateDict["adamw.v." + $0] })
        try tuner.restore(parameters: parameters, optimizer: state)
    }
}
