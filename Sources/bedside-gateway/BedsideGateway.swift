import Platform

@main
struct BedsideGateway {
    static func main() {
        printLine("bedside-gateway")
    }
}
