// The Kotlin quickstart of bindings/README.md, word for word between the markers
// (QuickstartTest checks that they agree and runs it).
// quickstart: begin
import kotlinx.coroutines.runBlocking
import sotto.*

fun quickstart(relay: String, folder: String): String = runBlocking {
    val settings = Settings(relays = listOf(relay), route = Route.Direct)
    // Two people on one machine; each profile is a folder with an encrypted database.
    val alice = Messenger.create("$folder/alice", Protection.Passphrase("alice's secret", null), settings)
    val bob = Messenger.create("$folder/bob", Protection.Passphrase("bob's secret", null), settings)
    val aliceEvents = alice.subscribe()
    val bobEvents = bob.subscribe()
    alice.start()
    bob.start()

    // Alice invites; Bob accepts (the link would travel as text or a QR code).
    val aliceAtBob = bob.acceptInvitation(alice.createInvitation())
    while (bobEvents.next() !is Event.ContactReady) {}

    bob.sendText(aliceAtBob, "Hello, Alice!")
    var got: Event? = null
    while (got !is Event.MessageReceived) got = aliceEvents.next()
    alice.shutdown()
    bob.shutdown()
    "Alice got: ${(got.message.body as Body.Text).text}"
}
// quickstart: end
