import CMicroHTTPD

/// libmicrohttpd's version, as the agent reports it.
public func microHTTPDVersion() -> String { String(cString: MHD_get_version()) }
