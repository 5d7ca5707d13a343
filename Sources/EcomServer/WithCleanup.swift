/// Runs `body`, then `cleanup` whether `body` threw or not: the `defer` of a clean-up that must
/// `await`.
func withCleanup<Result>(_ body: () async throws -> Result, cleanup: () async -> Void) async throws -> Result {
    let result: Result
    do {
        result = try await body()
    } catch {
        await cleanup()
        throw error
    }
    await cleanup()
    return result
}
