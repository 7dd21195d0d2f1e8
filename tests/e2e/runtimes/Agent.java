// The runtime matrix's scenario for Java's java.net.http.HttpClient, run as a single source file
// (`java Agent.java`). HttpClient uses a proxy only when given a ProxySelector, so this client takes
// the JVM's default one, configured by system properties: -Dhttp(s).proxyHost/-Port and an empty
// -Dhttp.nonProxyHosts (the default list skips localhost and 127.*, where the testnet lives).
// It cannot send proxy credentials without an Authenticator (and Basic is disabled for CONNECT
// tunnels), so it talks to a sidecar proxy: `purser proxy --default-agent NAME` on loopback.
// Trust: -Djavax.net.ssl.trustStore with Purser's CA imported by keytool.
//
// usage: java [properties] Agent.java HTTP_BASE HTTPS_BASE
// Prints one JSON line per step with what the client received.
import java.io.InputStream;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

public class Agent {
    static final byte[] JSON_BODY = "{\"task\":\"summarise\",\"items\":[1,2,3],\"note\":\"paid retry must carry me\"}"
            .getBytes(StandardCharsets.UTF_8);
    // 1,000,000 bytes: under the testnet's 1 MiB body limit.
    static final byte[] BIG_BODY = "0123456789".repeat(100000).getBytes(StandardCharsets.US_ASCII);

    record Step(String name, String method, String url, byte[] body, String contentType) {}

    // The same list in every agent script.
    static List<Step> steps(String http, String https) {
        return List.of(
                new Step("http_get", "GET", http + "/weather", null, null),
                new Step("https_get", "GET", https + "/weather", null, null),
                new Step("post_json", "POST", https + "/echo", JSON_BODY, "application/json"),
                new Step("post_1mb", "POST", https + "/echo", BIG_BODY, "application/octet-stream"),
                new Step("stream", "GET", https + "/stream", null, null),
                new Step("after_stream", "GET", https + "/weather", null, null),
                new Step("free", "GET", https + "/free", null, null),
                new Step("declined", "GET", https + "/premium", null, null));
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    static String run(HttpClient client, Step s) throws Exception {
        var builder = HttpRequest.newBuilder(URI.create(s.url())).timeout(Duration.ofSeconds(60));
        if (s.body() != null) {
            builder.header("Content-Type", s.contentType())
                    .method(s.method(), HttpRequest.BodyPublishers.ofByteArray(s.body()));
        } else {
            builder.method(s.method(), HttpRequest.BodyPublishers.noBody());
        }
        HttpResponse<InputStream> resp = client.send(builder.build(), HttpResponse.BodyHandlers.ofInputStream());
        var got = new java.io.ByteArrayOutputStream();
        int chunks = 0;
        try (InputStream in = resp.body()) {
            byte[] buf = new byte[65536];
            for (int n; (n = in.read(buf)) > 0; chunks++) got.write(buf, 0, n);
        }
        byte[] body = got.toByteArray();
        long events = new String(body, StandardCharsets.ISO_8859_1).lines().filter(l -> l.startsWith("data:")).count();
        var fields = new ArrayList<String>();
        fields.add("\"step\":" + quote(s.name()));
        fields.add("\"status\":" + resp.statusCode());
        fields.add("\"decision\":" + quote(resp.headers().firstValue("purser-decision").orElse("")));
        fields.add("\"paid\":" + quote(resp.headers().firstValue("purser-paid").orElse("")));
        fields.add("\"length\":" + body.length);
        fields.add("\"sha256\":" + quote(sha256(body)));
        fields.add("\"events\":" + events);
        fields.add("\"chunks\":" + chunks);
        fields.add("\"version\":" + quote(resp.version().toString()));
        if (s.body() != null) {
            fields.add("\"sent_length\":" + s.body().length);
            fields.add("\"sent_sha256\":" + quote(sha256(s.body())));
        }
        return "{" + String.join(",", fields) + "}";
    }

    public static void main(String[] args) {
        HttpClient client = HttpClient.newBuilder().proxy(ProxySelector.getDefault()).build();
        for (Step s : steps(args[0], args[1])) {
            try {
                System.out.println(run(client, s));
            } catch (Exception e) {
                System.out.println("{\"step\":" + quote(s.name()) + ",\"error\":" + quote(e.toString()) + "}");
            }
        }
    }
}
