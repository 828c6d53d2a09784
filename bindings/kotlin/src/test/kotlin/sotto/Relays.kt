package sotto

import java.io.File
import java.nio.file.Files

/** Real `sotto-relay` processes on loopback (the binary named by SOTTO_RELAY_BIN). */
class Relays(count: Int) : AutoCloseable {
    private val root: File = Files.createTempDirectory("sotto-relays-").toFile()
    private val processes = mutableListOf<Process>()

    /** Their addresses (`sotto://…`). */
    val addresses: List<String> = (1..count).map { start("relay-$it") }

    private fun start(name: String): String {
        val binary = System.getenv("SOTTO_RELAY_BIN")
            ?: error("SOTTO_RELAY_BIN names the sotto-relay binary to test against")
        val process = ProcessBuilder(
            binary, "--data-dir", File(root, name).path, "--listen", "127.0.0.1:0",
            "--operator-listen", "127.0.0.1:0", "--allow-private-hops", "--log-level", "warn",
        ).redirectError(File(root, "$name.log")).start()
        processes += process
        val line = process.inputStream.bufferedReader().readLine() ?: error("the relay printed nothing")
        return line.split(" ").firstOrNull { it.startsWith("sotto://") }
            ?: error("no address in \"$line\"")
    }

    override fun close() {
        processes.forEach { it.destroyForcibly().waitFor() }
        root.deleteRecursively()
    }
}
