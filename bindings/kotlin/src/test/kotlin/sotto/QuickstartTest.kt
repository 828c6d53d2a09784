// In the root package, as Quickstart.kt (whose code an app would paste as it is).
import java.io.File
import java.nio.file.Files
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import sotto.Relays

class QuickstartTest {
    private fun between(text: String, begin: String, end: String): String =
        text.substringAfter(begin).substringBefore(end).trim()

    @Test
    fun `the README's Kotlin quickstart is this file's, and it runs`() {
        val source = File("src/test/kotlin/sotto/Quickstart.kt").readText()
        val inFile = between(source, "// quickstart: begin", "// quickstart: end")
        val readme = File("../README.md").readText()
        val inReadme = between(readme.substringAfter("<!-- quickstart: kotlin"), "```kotlin", "```")
        assertEquals(inFile, inReadme, "bindings/README.md and Quickstart.kt differ")

        Relays(1).use { relays ->
            val folder = Files.createTempDirectory("sotto-quickstart-").toFile()
            try {
                assertEquals("Alice got: Hello, Alice!", quickstart(relays.addresses[0], folder.path))
            } finally {
                folder.deleteRecursively()
            }
        }
    }
}
