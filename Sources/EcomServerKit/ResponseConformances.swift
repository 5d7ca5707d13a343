import EcomAPI
import Hummingbird

// The wire types every service answers with, encoded by the context's `JSONEncoder.ecom`.
extension Page: ResponseEncodable {}
extension User: ResponseEncodable {}
extension Product: ResponseEncodable {}
extension ImportResult: ResponseEncodable {}
extension Cart: ResponseEncodable {}
extension CartContents: ResponseEncodable {}
extension CartItemAdded: ResponseEncodable {}
extension Order: ResponseEncodable {}
extension ParkedEvent: ResponseEncodable {}
extension WebhookEndpoint: ResponseEncodable {}
extension WebhookDelivery: ResponseEncodable {}
