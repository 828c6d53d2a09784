package sotto

import java.util.concurrent.LinkedBlockingQueue
import kotlin.system.exitProcess
import kotlinx.coroutines.runBlocking

/**
 * The Kotlin peer of the bindings' interoperability test (bindings/tests/interop): one
 * profile driven by lines on standard input, answering on standard output, in the protocol
 * bindings/tests/interop/peer.py describes (the peers in Python, Rust and C speak it too).
 * Events arrive through an [EventListener] on a library thread.
 *
 * usage: java -cp … sotto.PeerKt <profile folder> <relay>...
 */
fun main(args: Array<String>) {
    runBlocking { peer(args) }
    // JNA's and the library's threads must not keep the JVM alive.
    exitProcess(0)
}

suspend fun peer(args: Array<String>) {
    if (args.size < 2) {
        System.err.println("usage: PeerKt <profile folder> <relay>...")
        exitProcess(2)
    }
    val messenger = Messenger.create(
        args[0],
        Protection.Passphrase("interop", FAST),
        Settings(relays = args.drop(1), displayName = "kotlin"),
    )
    val lock = Object()
    val seen = mutableListOf<Event>()
    val added = LinkedBlockingQueue<String>()
    messenger.setListener(object : EventListener {
        override fun onEvent(event: Event) {
            if (event is Event.ContactAdded) added.put(event.contact)
            synchronized(lock) {
                seen += event
                lock.notifyAll()
            }
        }
    })
    messenger.start()

    fun <T> until(find: (List<Event>) -> T?): T {
        val deadline = System.currentTimeMillis() + 60_000
        synchronized(lock) {
            while (true) {
                find(seen)?.let { return it }
                val left = deadline - System.currentTimeMillis()
                check(left > 0) { "no matching event within 60 s" }
                lock.wait(left)
            }
        }
    }

    println("ready ${messenger.identity()}")
    System.out.flush()
    while (true) {
        val words = (readLine() ?: break).trim().split(" ").filter { it.isNotEmpty() }
        if (words.isEmpty()) continue
        val a = words.drop(1)
        when (words[0]) {
            "invite" -> println("link ${messenger.createInvitation()}")
            "accept" -> {
                val contact = messenger.acceptInvitation(a[0])
                until { events -> events.any { it is Event.ContactReady && it.contact == contact }.takeIf { it } }
                println("contact $contact")
            }
            "await-contact" -> println("contact ${added.take()}")
            "send" -> println("sent ${messenger.sendText(a[0], a[1])}")
            "send-file" -> println("sent ${messenger.sendFile(a[0], AttachmentSource.File(a[1]), a[2], null)}")
            "expect" -> {
                until { events ->
                    events.any {
                        it is Event.MessageReceived && it.contact == a[0] && (it.message.body as? Body.Text)?.text == a[1]
                    }.takeIf { it }
                }
                println("got")
            }
            "expect-file" -> {
                val id = until { events ->
                    events.filterIsInstance<Event.MessageReceived>().firstOrNull {
                        it.contact == a[0] && (it.message.body as? Body.File)?.name == a[1]
                    }?.message?.id
                }
                println("got ${messenger.downloadAttachment(a[0], id, a[2])}")
            }
            "quit" -> {
                messenger.shutdown()
                println("bye")
                break
            }
            else -> println("error unknown command ${words[0]}")
        }
        System.out.flush()
    }
}
