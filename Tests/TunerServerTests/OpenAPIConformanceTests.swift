import Foundation
import Pipeline
import Testing
import TunerPolicy
import TunerServer
import Tuning
import Yams

/// docs/openapi.yaml against the running server: every documented operation answers; example
/// requests succeed and their responses carry every required field with the documented types,
/// enums and ranges; malformed and oversized bodies get the documented errors.
@Suite struct OpenAPIConformanceTests {
    let document: [String: Any]

    init() throws {
        let text = try String(contentsOf: Loopback.repository.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        document = try #require(try Yams.load(yaml: text) as? [String: Any])
    }

    @Test func theRunningServerMatchesTheDocument() async throws {
        let checkpoint = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-\(UUID().uuidString).ckpt")
        defer { try? FileManager.default.removeItem(at: checkpoint) }
        try DecisionBenchmark.defaultPolicy().checkpoint.write(to: checkpoint)
        let token = "conformance-token-0123456789"
        let decisions = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: decisions) }
        let server = TunerServer(evaluator: Loopback.evaluator, policy: try PolicyHandle(contentsOf: checkpoint),
                                 log: try DecisionLogWriter(url: decisions), accessToken: try AccessToken(token))
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        #expect(Set(paths.keys) == ["/tuner/evaluator", "/tuner/evaluate", "/query", "/metrics", "/health", "/admin/reload", "/decide", "/outcome"])
        try await Loopback.withServer({ server.application(port: 0, onRunning: $0) }) { base in
            var checked = 0, unprocessableChecked = 0
            for (path, operations) in paths {
                for (method, operation) in operations {
                    let operation = try #require(operation as? [String: Any])
                    let responses = try #require(operation["responses"] as? [String: Any])
                    let url = base.appendingPathComponent(path)
                    var example: Any?
                    if let body = operation["requestBody"] as? [String: Any],
                       let content = (body["content"] as? [String: Any])?["application/json"] as? [String: Any] {
                        example = content["example"]
                        let schema = try #require(content["schema"])
                        #expect(validate(try #require(example), against: schema, at: "\(path) request example").isEmpty)
                    }
                    var headers: [String: String] = [:]
                    if operation["security"] != nil {
                        let errorSchema = try #require(resolve(responses["401"]).flatMap { content($0) })
                        for refused in [[:], ["Authorization": "Bearer not-the-token-0123456789"]] {
                            let unauthorized = try await Loopback.request(url, method: method.uppercased(), headers: refused)
                            #expect(unauthorized.status == 401 && unauthorized.headers["www-authenticate"] == "Bearer", "\(path) with \(refused)")
                            #expect(validate(try #require(unauthorized.json), against: errorSchema, at: "\(path) 401").isEmpty)
                        }
                        headers["Authorization"] = "Bearer \(token)"
                    }
                    let reply = try await Loopback.request(
                        url, method: method.uppercased(), body: try example.map { try JSONSerialization.data(withJSONObject: $0) }, headers: headers)
                    // An operation documented with no content answers 204.
                    if responses["204"] != nil {
                        #expect(reply.status == 204, "\(method) \(path): \(String(decoding: reply.body, as: UTF8.self))")
                    } else {
                        #expect(reply.status == 200, "\(method) \(path): \(String(decoding: reply.body, as: UTF8.self))")
                    }
                    let ok = (responses["200"] as? [String: Any])?["content"] as? [String: Any] ?? [:]
                    if responses["204"] != nil {
                        #expect(reply.body.isEmpty)
                    } else if let json = ok["application/json"] as? [String: Any] {
                        let value = try #require(reply.json, "\(path) answered no JSON")
                        let problems = validate(value, against: try #require(json["schema"]), at: "\(method) \(path) 200")
                        #expect(problems.isEmpty, "\(problems)")
                    } else {
                        #expect(ok["text/plain"] != nil && reply.headers["content-type"]?.hasPrefix("text/plain") == true)
                    }
                    if example != nil {
                        let errorSchema = try #require(resolve(responses["400"]).flatMap { content($0) })
                        let bad = try await Loopback.request(url, method: "POST", body: Data("{}".utf8), headers: headers)
                        #expect(bad.status == 400)
                        #expect(validate(try #require(bad.json), against: errorSchema, at: "\(path) 400").isEmpty)
                        let notJSON = try await Loopback.request(url, method: "POST", body: Data("{\"question\": ".utf8), headers: headers)
                        #expect(notJSON.status == 400)
                        #expect(responses["413"] != nil)
                        let huge = try await Loopback.request(url, method: "POST", body: Data(repeating: 0x20, count: TunerServer.maxRequestBytes + 1), headers: headers)
                        #expect(huge.status == 413, "\(path) with an oversized body answered \(huge.status)")
                    }
                    // A configuration with a knob the evaluator does not declare.
                    if let unprocessable = resolve(responses["422"]).flatMap({ content($0) }), var request = example as? [String: Any],
                       var configuration = request["configuration"] as? [String: Any] {
                        configuration["no_such_knob"] = 1
                        request["configuration"] = configuration
                        let refused = try await Loopback.request(url, method: "POST", body: try JSONSerialization.data(withJSONObject: request), headers: headers)
                        #expect(refused.status == 422 && String(decoding: refused.body, as: UTF8.self).contains("no_such_knob"))
                        #expect(validate(try #require(refused.json), against: unprocessable, at: "\(path) 422").isEmpty)
                        unprocessableChecked += 1
                    }
                    checked += 1
                }
            }
            #expect(checked == 8 && unprocessableChecked == 1)
            #expect(try await Loopback.request(base.appendingPathComponent("nowhere")).status == 404)
        }
    }

    /// The subset of JSON Schema the document uses: $ref, type, required, properties,
    /// additionalProperties, items, enum, minimum, maximum, minLength.
    func validate(_ value: Any, against schemaValue: Any, at place: String) -> [String] {
        guard let schema = resolve(schemaValue) else { return ["\(place): unresolvable schema"] }
        var problems: [String] = []
        if let type = schema["type"] as? String {
            let fits: Bool = switch type {
            case "object": value is [String: Any]
            case "array": value is [Any]
            case "string": value is String
            case "boolean": (value as? NSNumber).map { isJSONBool($0) } ?? false
            case "integer": (value as? NSNumber).map { !isJSONBool($0) && $0.doubleValue == $0.doubleValue.rounded() } ?? false
            case "number": (value as? NSNumber).map { !isJSONBool($0) } ?? false
            default: false
            }
            guard fits else { return ["\(place): \(value) is not of type \(type)"] }
        }
        if let allowed = schema["enum"] as? [Any], !allowed.contains(where: { "\($0)" == "\(value)" }) {
            problems.append("\(place): \(value) is not one of \(allowed)")
        }
        if let number = (value as? NSNumber)?.doubleValue {
            if let minimum = (schema["minimum"] as? NSNumber)?.doubleValue, number < minimum { problems.append("\(place): \(number) < \(minimum)") }
            if let maximum = (schema["maximum"] as? NSNumber)?.doubleValue, number > maximum { problems.append("\(place): \(number) > \(maximum)") }
        }
        if let string = value as? String, let minLength = schema["minLength"] as? Int, string.count < minLength {
            problems.append("\(place): shorter than \(minLength)")
        }
        if let object = value as? [String: Any] {
            for key in schema["required"] as? [String] ?? [] where object[key] == nil { problems.append("\(place): missing required '\(key)'") }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for (key, child) in object {
                if let property = properties[key] {
                    problems += validate(child, against: property, at: "\(place).\(key)")
                } else if let additional = schema["additionalProperties"] {
                    problems += validate(child, against: additional, at: "\(place).\(key)")
                }
            }
        }
        if let array = value as? [Any], let items = schema["items"] {
            for (i, child) in array.enumerated() { problems += validate(child, against: items, at: "\(place)[\(i)]") }
        }
        return problems
    }

    func resolve(_ value: Any?) -> [String: Any]? {
        guard var node = value as? [String: Any] else { return nil }
        while let ref = node["$ref"] as? String {
            var target: Any? = document
            for part in ref.dropFirst(2).split(separator: "/") { target = (target as? [String: Any])?[String(part)] }
            guard let resolved = target as? [String: Any] else { return nil }
            node = resolved
        }
        return node
    }

    func content(_ response: [String: Any]) -> Any? {
        ((response["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"]
    }
}

/// JSONSerialization gives JSON booleans as NSNumbers of objCType "c" (numbers are "q" or "d").
func isJSONBool(_ number: NSNumber) -> Bool {
    String(cString: number.objCType) == "c"
}
