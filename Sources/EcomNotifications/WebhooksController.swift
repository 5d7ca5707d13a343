import EcomAPI
import EcomServerKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The admin's webhook routes: endpoints, their secrets, test deliveries and the delivery log.
struct WebhooksController: Sendable {
    let store: WebhookStore
    let dispatcher: WebhookDispatcher
    let allowInsecure: Bool
    /// How long a rotated-out secret still signs deliveries.
    static let rotationGrace: Duration = .seconds(24 * 3600)

    func addRoutes(to router: Router<EcomRequestContext>) {
        router.post("/admin/webhooks", use: create)
        router.get("/admin/webhooks", use: list)
        router.get("/admin/webhooks/:id", use: show)
        router.patch("/admin/webhooks/:id", use: update)
        router.delete("/admin/webhooks/:id", use: delete)
        router.post("/admin/webhooks/:id/test", use: test)
        router.post("/admin/webhooks/:id/rotate-secret", use: rotateSecret)
        router.get("/admin/webhooks/:id/deliveries", use: deliveries)
    }

    func validated(url: String?) throws {
        guard let url else { return }
        if let problem = WebhookAddressPolicy.urlProblem(url, allowInsecure: allowInsecure) { throw APIError.invalidField("url", problem) }
    }

    func validated(types: [String]?) throws {
        guard let types else { return }
        guard types.count <= 20 else { throw APIError.invalidField("types", "types holds at most 20 patterns") }
        for pattern in types where !EventTypePattern.isValid(pattern) {
            throw APIError.invalidField("types", "\"\(pattern)\" is not an event type or pattern (order.created, order.*, #)")
        }
    }

    @Sendable func create(_ request: Request, context: EcomRequestContext) async throws -> EditedResponse<WebhookEndpoint> {
        let admin = try context.requireAdmin()
        let body = try await request.decode(as: WebhookCreate.self, context: context)
        try validated(url: body.url)
        try validated(types: body.types)
        let endpoint = try await store.create(url: body.url, types: body.types ?? [])
        // Events logged from now on are the endpoint's: the dispatcher looks at each batch again.
        dispatcher.deliveriesQueued()
        context.logger.info("webhook endpoint created", metadata: ["endpoint": "\(endpoint.id.lowercased)", "by": "\(admin.subject)"])
        return EditedResponse(
            status: .created, headers: [.location: "/admin/webhooks/\(endpoint.id.lowercased)"], response: endpoint)
    }

    @Sendable func list(_ request: Request, context: EcomRequestContext) async throws -> Page<WebhookEndpoint> {
        _ = try context.requireAdmin()
        return Page(items: try await store.list(), nextCursor: nil)
    }

    @Sendable func show(_ request: Request, context: EcomRequestContext) async throws -> WebhookEndpoint {
        _ = try context.requireAdmin()
        guard let endpoint = try await store.find(try context.uuidParameter()) else { throw APIError.notFound("webhook endpoint") }
        return endpoint
    }

    @Sendable func update(_ request: Request, context: EcomRequestContext) async throws -> WebhookEndpoint {
        let admin = try context.requireAdmin()
        let id = try context.uuidParameter()
        let changes = try await request.decode(as: WebhookUpdate.self, context: context)
        try validated(url: changes.url)
        try validated(types: changes.types)
        guard let endpoint = try await store.update(id, changes) else { throw APIError.notFound("webhook endpoint") }
        context.logger.info("webhook endpoint changed", metadata: ["endpoint": "\(id.lowercased)", "by": "\(admin.subject)"])
        if endpoint.enabled { dispatcher.deliveriesQueued() }
        return endpoint
    }

    @Sendable func delete(_ request: Request, context: EcomRequestContext) async throws -> Response {
        let admin = try context.requireAdmin()
        let id = try context.uuidParameter()
        guard try await store.delete(id) else { throw APIError.notFound("webhook endpoint") }
        context.logger.info("webhook endpoint deleted", metadata: ["endpoint": "\(id.lowercased)", "by": "\(admin.subject)"])
        return Response(status: .noContent)
    }

    @Sendable func test(_ request: Request, context: EcomRequestContext) async throws -> EditedResponse<WebhookDelivery> {
        _ = try context.requireAdmin()
        guard let delivery = try await store.queueTest(try context.uuidParameter()) else { throw APIError.notFound("webhook endpoint") }
        dispatcher.deliveriesQueued()
        return EditedResponse(status: .accepted, response: delivery)
    }

    @Sendable func rotateSecret(_ request: Request, context: EcomRequestContext) async throws -> WebhookEndpoint {
        let admin = try context.requireAdmin()
        let id = try context.uuidParameter()
        guard let endpoint = try await store.rotateSecret(id, grace: Self.rotationGrace) else { throw APIError.notFound("webhook endpoint") }
        context.logger.info("webhook secret rotated", metadata: ["endpoint": "\(id.lowercased)", "by": "\(admin.subject)"])
        return endpoint
    }

    @Sendable func deliveries(_ request: Request, context: EcomRequestContext) async throws -> Page<WebhookDelivery> {
        _ = try context.requireAdmin()
        let id = try context.uuidParameter()
        let limit = try request.pageLimit()
        let after = try request.queryString("cursor").map(Cursor.decodeTimestampKey)
        guard try await store.find(id) != nil else { throw APIError.notFound("webhook endpoint") }
        return try await store.deliveries(of: id, after: after, limit: limit)
    }
}

extension WebhookCreate: APIRequestBody {}
extension WebhookUpdate: APIPatchBody {}
