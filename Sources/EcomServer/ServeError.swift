/// A reason `ecom serve` will not start, said in one line.
package struct ServeError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
