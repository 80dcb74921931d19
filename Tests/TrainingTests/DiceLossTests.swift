import Foundation
import TensorCore
import TestSupport
@testable import Training
import XCTest

/// `decoders/dice.json`: MONAI's DiceLoss and DiceCELoss (softmax, one-hot labels) on fixed logits.
private struct DiceFixture: Decodable {
    struct Values: Decodable { let shape: [Int]; let values: [Float] }
    struct Case: Decodable {
        let include_background: Bool
        let dice: Float
        let dice_gradient: Values
        let dice_ce: Float
        let dice_ce_gradient: Values
    }
    let logits: Values
    let labels: [Int]
    let cases: [Case]
}

final class DiceLossTests: XCTestCase {
    private func fixture() throws -> DiceFixture {
        try JSONDecoder().decode(DiceFixture.self, from: Data(contentsOf: Fixtures.url("decoders/dice.json")))
    }

    func testDiceAndDiceCrossEntropyMatchMONAI() throws {
        let f = try fixture()
        let logits = Tensor(shape: f.logits.shape, values: f.logits.values)
        XCTAssertEqual(f.cases.map(\.include_background), [true, false])
        for c in f.cases {
            let dice = try DiceLoss(includeBackground: c.include_background)
            let diceResult = try dice.loss(logits: logits, labels: f.labels)
            XCTAssertEqual(diceResult.value, c.dice, accuracy: 1e-6, "background \(c.include_background)")
            assertClose(diceResult.gradient, Tensor(shape: c.dice_gradient.shape, values: c.dice_gradient.values), tolerance: 1e-6,
                        "Dice gradient, background \(c.include_background)")
            let combined = try DiceCrossEntropyLoss(dice: dice).loss(logits: logits, labels: f.labels)
            XCTAssertEqual(combined.value, c.dice_ce, accuracy: 1e-6, "background \(c.include_background)")
            assertClose(combined.gradient, Tensor(shape: c.dice_ce_gradient.shape, values: c.dice_ce_gradient.values), tolerance: 1e-6,
                        "Dice + CE gradient, background \(c.include_background)")
        }
    }

    /// Central differences of the Double loss against its analytic gradient, for both losses and settings.
    func testGradientsMatchFiniteDifferencesInDouble() throws {
        let f = try fixture()
        let logits = Tensor(shape: f.logits.shape, values: f.logits.values)
        let shape = try SegmentationLogits(logits, labels: f.labels, minimumClasses: 2)
        let x = f.logits.values.map(Double.init)
        let h = 1e-6
        for includeBackground in [true, false] {
            let dice = try DiceLoss(includeBackground: includeBackground)
            let losses: [(String, ([Double]) -> (value: Double, gradient: [Double]))] = [
                ("Dice", { dice.evaluate(shape, logits: $0, labels: f.labels) }),
                ("CE", { PixelCrossEntropy.evaluate(shape, logits: $0, labels: f.labels) }),
            ]
            for (name, loss) in losses {
                let analytic = loss(x).gradient
                for index in stride(from: 0, to: x.count, by: 7) {
                    var plus = x, minus = x
                    plus[index] += h
                    minus[index] -= h
                    let numeric = (loss(plus).value - loss(minus).value) / (2 * h)
                    XCTAssertEqual(analytic[index], numeric, accuracy: 1e-8, "\(name) background \(includeBackground) at \(index)")
                }
            }
        }
    }

    func testPerfectPredictionHasNearZeroDice() throws {
        let labels = [0, 1, 1, 0]
        let logits = Tensor(shape: [1, 2, 2, 2], values: [20, -20, -20, 20, -20, 20, 20, -20])
        XCTAssertEqual(try DiceLoss().loss(logits: logits, labels: labels).value, 0, accuracy: 1e-6)
    }

    func testRejectsBadInput() throws {
        let logits = Tensor(shape: [1, 2, 2, 2], repeating: 0)
        let dice = try DiceLoss()
        XCTAssertThrowsError(try dice.loss(logits: logits, labels: [0, 1, 2, 0])) { error in
            XCTAssertTrue("\(error)".contains("0..<2"), "\(error)")
        }
        XCTAssertThrowsError(try dice.loss(logits: logits, labels: [0, 1]))
        XCTAssertThrowsError(try dice.loss(logits: Tensor(shape: [2, 4], repeating: 0), labels: [0, 1]))
        XCTAssertThrowsError(try DiceLoss(includeBackground: false).loss(logits: Tensor(shape: [1, 1, 2, 2], repeating: 0), labels: [0, 0, 0, 0]))
        XCTAssertThrowsError(try dice.loss(logits: Tensor(shape: [1, 2, 1, 1], values: [.nan, 0]), labels: [0]))
        XCTAssertThrowsError(try DiceLoss(smoothing: -1))
        XCTAssertThrowsError(try DiceCrossEntropyLoss(dice: dice, diceWeight: -1))
    }
}
