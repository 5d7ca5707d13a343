@testable import EcomPostgres
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct SpawnTests {
    @Test("a spawned program inherits only its standard descriptors, not the other descriptors the process holds")
    func onlyStandardDescriptors() throws {
        // Descriptors another thread might hold while a cluster starts: a pipe that is not close-on-exec.
        var held: [Int32] = [0, 0]
        try #require(pipe(&held) == 0)
        defer { held.forEach { close($0) } }
        let (status, output) = try EmbeddedPostgres.spawn(["/bin/sh", "-c", "ls /proc/$$/fd"])
        #expect(status == 0)
        let descriptors = Set(output.split(whereSeparator: \.isWhitespace).compactMap { Int32($0) })
        #expect(descriptors.isDisjoint(with: held), "the child holds \(descriptors.sorted())")
        #expect(descriptors.isSubset(of: [0, 1, 2, 3, 10]), "the child holds \(descriptors.sorted())")
    }

    @Test("the output ends when the program exits, though a program it left running still runs")
    func daemonDoesNotHoldOutput() throws {
        let started = ContinuousClock.now
        let (status, output) = try EmbeddedPostgres.spawn(["/bin/sh", "-c", "echo started; sleep 30 >/dev/null 2>&1 &"])
        #expect(status == 0)
        #expect(output == "started\n")
        #expect(ContinuousClock.now - started < .seconds(20))
    }
}
