package sotto

import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows

/** A listener that queues every event (called on a library thread) for the test to take. */
class Recorder : EventListener {
    private val events = LinkedBlockingQueue<Event>()

    override fun onEvent(event: Event) {
        events.put(event)
    }

    /** The next event that [matches] (the ones before are dropped), waiting up to 60 s. */
    fun <T : Event> next(matches: (Event) -> T?): T {
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60)
        while (true) {
            val left = deadline - System.nanoTime()
            val event = events.poll(left.coerceAtLeast(0), TimeUnit.NANOSECONDS)
                ?: error("no matching event within 60 s")
            matches(event)?.let { return it }
        }
    }
}

/** The least Argon2 cost the library accepts: the tests open several profiles. */
val FAST = Argon2Cost(memoryKib = 8u * 1024u, iterations = 1u, parallelism = 1u)

fun received(text: String? = null): (Event) -> Event.MessageReceived? = { event ->
    (event as? Event.MessageReceived)?.takeIf {
        text == null || (it.message.body as? Body.Text)?.text == text
    }
}

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConversationTest {
    private lateinit var relays: Relays
    private lateinit var folder: Path

    @BeforeAll
    fun start() {
        relays = Relays(3)
        folder = Files.createTempDirectory("sotto-kotlin-")
    }

    @AfterAll
    fun stop() {
        relays.close()
        folder.toFile().deleteRecursively()
    }

    private suspend fun person(name: String): Pair<Messenger, Recorder> {
        val messenger = Messenger.create(
            folder.resolve(name).toString(),
            Protection.Passphrase("$name's passphrase", FAST),
            Settings(relays = relays.addresses, displayName = name),
        )
        val recorder = Recorder()
        messenger.setListener(recorder)
        messenger.start()
        return messenger to recorder
    }

    @Test
    fun `two people meet and exchange text, an image, a file and a voice clip`() = runBlocking {
        withTimeout(300_000) {
            val (alice, aliceEvents) = person("alice")
            val (bob, bobEvents) = person("bob")
            alice.use {
                bob.use {
                    assertTrue(alice.identity().startsWith("sotto-id:"))
                    val link = alice.createInvitation()
                    assertArrayEquals(
                        byteArrayOf(0x89.toByte(), 'P'.code.toByte(), 'N'.code.toByte(), 'G'.code.toByte()),
                        invitationQrPng(link).copyOf(4),
                    )
                    val aliceAtBob = bob.acceptInvitation(link)
                    val added = aliceEvents.next { it as? Event.ContactAdded }
                    assertEquals("bob", added.displayName)
                    val bobAtAlice = added.contact
                    bobEvents.next { it as? Event.ContactReady }

                    // Text with a read receipt.
                    val sent = bob.sendText(aliceAtBob, "hello from Kotlin")
                    val got = aliceEvents.next(received("hello from Kotlin"))
                    assertEquals(sent, got.message.id)
                    alice.markRead(bobAtAlice, listOf(sent))
                    bobEvents.next { e ->
                        (e as? Event.StatusChanged)?.takeIf { it.status == DeliveryStatus.READ && sent in it.messageIds }
                    }

                    // An image, a file (from a path) and a voice clip (from memory).
                    for (k in 0 until 3) {
                        val data = ByteArray(120_000 + 977 * k) { ((it * 31 + k) and 0xff).toByte() }
                        val path = folder.resolve("source-$k")
                        Files.write(path, data)
                        val source = if (k == 2) AttachmentSource.Bytes(data) else AttachmentSource.File(path.toString())
                        val id = when (k) {
                            0 -> bob.sendImage(aliceAtBob, source, "image/png", 64u, 48u, byteArrayOf(1, 2, 3))
                            1 -> bob.sendFile(aliceAtBob, source, "report.pdf", "application/pdf")
                            else -> bob.sendVoiceClip(aliceAtBob, source, "opus", 1500u, byteArrayOf(0, 90, 255.toByte()))
                        }
                        aliceEvents.next { e -> (e as? Event.MessageReceived)?.takeIf { it.message.id == id } }
                        val target = folder.resolve("downloaded-$k")
                        val size = alice.downloadAttachment(bobAtAlice, id, target.toString())
                        assertEquals(data.size.toULong(), size)
                        assertArrayEquals(data, Files.readAllBytes(target))
                    }
                    val page = alice.history(bobAtAlice, null, 3u)
                    assertEquals(listOf("VoiceClip", "File", "Image"), page.map { it.body::class.simpleName })
                    assertArrayEquals(byteArrayOf(0, 90, 255.toByte()), (page[0].body as Body.VoiceClip).waveform)

                    // Safety numbers agree and verify.
                    val number = alice.safetyNumber(bobAtAlice)
                    assertEquals(number.digits, bob.safetyNumber(aliceAtBob).digits)
                    assertEquals(Comparison.Match, bob.compareSafetyCode(aliceAtBob, number.scannable))
                    bob.markVerified(aliceAtBob)
                    assertTrue(bob.contact(aliceAtBob).verified)

                    // Many coroutines at once on one handle: each text once, in call order.
                    val texts = (0 until 50).map { "burst $it" }
                    texts.map { async { alice.sendText(bobAtAlice, it) } }.awaitAll()
                    val burst = texts.map { bobEvents.next(received()).let { e -> (e.message.body as Body.Text).text } }
                    assertEquals(texts, burst)

                    alice.shutdown()
                    bob.shutdown()
                }
            }
        }
    }

    @Test
    fun `errors are exceptions with their codes`() = runBlocking {
        val directory = folder.resolve("carol").toString()
        val settings = Settings(relays = relays.addresses, displayName = "Carol")
        Messenger.create(directory, Protection.Passphrase("right", FAST), settings).use { it.shutdown() }

        fun code(error: SottoException) = (error as SottoException.Failed).code
        val wrong = assertThrows<SottoException> { runBlocking { Messenger.open(directory, "wrong", settings) } }
        assertEquals(ErrorCode.KEY, code(wrong))
        assertEquals(17u, ErrorCode.KEY.value)

        Messenger.open(directory, "right", settings).use { carol ->
            val malformed = assertThrows<SottoException> { runBlocking { carol.acceptInvitation("sotto:garbage") } }
            assertEquals(ErrorCode.INVITATION, code(malformed))
            val unknown = assertThrows<SottoException> { runBlocking { carol.sendText("0".repeat(32), "hi") } }
            assertEquals(ErrorCode.UNKNOWN_CONTACT, code(unknown))
            val badId = assertThrows<SottoException> { runBlocking { carol.markRead("0".repeat(32), listOf("nope")) } }
            assertEquals(ErrorCode.INVALID_ARGUMENT, code(badId))
            val malformedContact = assertThrows<SottoException> { runBlocking { carol.sendText("not a contact", "hi") } }
            assertEquals(ErrorCode.INVALID_ARGUMENT, code(malformedContact))
            carol.shutdown()
            val late = assertThrows<SottoException> { runBlocking { carol.sendText("0".repeat(32), "late") } }
            assertEquals(ErrorCode.SHUT_DOWN, code(late))
        }
    }
}
