// A client of the alliance's services in JavaScript, written from docs/contract/WIRE.md alone: it
// speaks AMQP 0-9-1 through amqplib, and knows nothing of the services' own code. It mints no
// token: it is handed one. Run as a program it plays another internal system against running
// services and prints a JSON report of what it saw (tests/interop/test_node_client.py reads it):
//
//   INTEROP_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/vhost INTEROP_RUN_ID=<a name for this run> \
//   INTEROP_SYSTEM_TOKEN=<a system token: alliance token --kind system --role system ...> node client.mjs
//
// As a module it offers `Alliance` (calls) and `subscribe` (events).
import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";

import amqp from "amqplib";

const RPC_EXCHANGE = "nameko-rpc";

/** A typed error the service answered with (WIRE.md, "Errors"). */
export class RemoteError extends Error {
  constructor(target, error) {
    super(`${target}: ${error.exc_type}: ${error.value}`);
    this.target = target;
    this.type = error.exc_type; // "ValidationError", "Forbidden", ...
    this.path = error.exc_path; // "alliance_platform.errors.ValidationError"
    this.args = error.exc_args;
    this.text = error.value;
    // A ValidationError's second argument maps each field to its messages.
    this.fields = error.exc_type === "ValidationError" ? (error.exc_args[1] ?? {}) : undefined;
  }
}

/** The call was not answered in time: it may or may not have been carried out. */
export class CallTimeout extends Error {}

/** The broker returned the request: no queue is bound for that service (it never ran on this broker). */
export class NoSuchService extends Error {
  constructor(message, { replyCode, replyText }) {
    super(message);
    this.replyCode = replyCode; // 312
    this.replyText = replyText; // "NO_ROUTE"
  }
}

export class Alliance {
  /**
   * Opens one connection and one confirm channel, and declares the caller's own reply queue:
   * server-named, exclusive, bound to `nameko-rpc` under its own name (replies are published there
   * with the routing key given as `reply_to`).
   */
  static async connect(url, { token, correlationId = randomUUID(), timeoutMs = 10_000 } = {}) {
    const connection = await amqp.connect(url);
    const channel = await connection.createConfirmChannel();
    await channel.checkExchange(RPC_EXCHANGE); // declared by the services; fails if none ever ran here
    // Exclusive queues cannot be quorum queues: say "classic" where a vhost's default is quorum.
    const { queue } = await channel.assertQueue("", {
      exclusive: true,
      autoDelete: true,
      arguments: { "x-queue-type": "classic" },
    });
    await channel.bindQueue(queue, RPC_EXCHANGE, queue);
    const alliance = new Alliance(connection, channel, queue, { token, correlationId, timeoutMs });
    await channel.consume(queue, (message) => alliance.#reply(message), { noAck: true });
    channel.on("return", (message) => alliance.#returned(message));
    return alliance;
  }

  #pending = new Map(); // correlation_id property -> { resolve, reject, timer, target }

  constructor(connection, channel, replyQueue, { token, correlationId, timeoutMs }) {
    this.connection = connection;
    this.channel = channel;
    this.replyQueue = replyQueue;
    this.token = token;
    this.correlationId = correlationId;
    this.timeoutMs = timeoutMs;
  }

  /**
   * Calls `service.method` with keyword arguments. `requestId`: the caller's own id for this
   * logical call, sent unchanged with every retry of a command (WIRE.md, "Retrying a command").
   * Resolves with the method's result; rejects with RemoteError, CallTimeout or NoSuchService.
   */
  call(service, method, kwargs = {}, { requestId, timeoutMs = this.timeoutMs, token = this.token } = {}) {
    const target = `${service}.${method}`;
    const messageId = randomUUID(); // the AMQP correlation_id property: pairs this message with its reply
    const headers = { "nameko.correlation_id": this.correlationId };
    if (token) headers["nameko.authorization"] = token;
    if (requestId) headers["nameko.request_id"] = requestId;
    const body = Buffer.from(JSON.stringify({ args: [], kwargs }));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(messageId);
        reject(new CallTimeout(`${target}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(messageId, { resolve, reject, timer, target });
      this.channel.publish(
        RPC_EXCHANGE,
        target,
        body,
        {
          contentType: "application/json",
          contentEncoding: "utf-8",
          replyTo: this.replyQueue,
          correlationId: messageId,
          headers,
          mandatory: true,
          // A request still queued when the caller has given up is dropped by the broker.
          expiration: String(timeoutMs),
        },
        (error) => {
          if (error) this.#settle(messageId, (p) => p.reject(new Error(`${target}: the broker refused it: ${error}`)));
        },
      );
    });
  }

  #reply(message) {
    if (message === null) return; // the broker cancelled our consumer
    const body = JSON.parse(message.content.toString("utf-8"));
    this.#settle(message.properties.correlationId, (p) =>
      body.error ? p.reject(new RemoteError(p.target, body.error)) : p.resolve(body.result),
    );
  }

  #returned(message) {
    this.#settle(message.properties.correlationId, (p) =>
      p.reject(
        new NoSuchService(`${p.target}: no queue is bound for it (the service never ran on this broker)`, message.fields),
      ),
    );
  }

  #settle(messageId, how) {
    const pending = this.#pending.get(messageId);
    if (!pending) return; // a reply after its timeout: dropped
    this.#pending.delete(messageId);
    clearTimeout(pending.timer);
    how(pending);
  }

  async close() {
    await this.connection.close();
  }
}

/**
 * Declares a durable queue of the subscriber's own, binds it to `<source>.events` for each event
 * type, and consumes from it with manual acknowledgement (WIRE.md, "Events"). `handle(envelope)`
 * may be async: the message is acked once it returned, and handed back to the queue if it threw.
 * Resolves with `{ channel, close() }`; `close()` stops consuming and closes the channel (any
 * message not yet acked goes back to the queue).
 */
export async function subscribe(connection, { source, eventTypes, queue, prefetch = 10 }, handle) {
  const channel = await connection.createChannel();
  const exchange = `${source}.events`;
  await channel.checkExchange(exchange); // declared by its service; fails if it never ran here
  await channel.assertQueue(queue, { durable: true });
  for (const type of eventTypes) await channel.bindQueue(queue, exchange, type);
  await channel.prefetch(prefetch);
  const { consumerTag } = await channel.consume(queue, async (message) => {
    if (message === null) return; // the queue was deleted
    let envelope;
    try {
      envelope = JSON.parse(message.content.toString("utf-8"));
    } catch {
      channel.nack(message, false, false); // not JSON, and never will be: dropped (or dead-lettered)
      return;
    }
    try {
      await handle(envelope, { redelivered: message.fields.redelivered, messageId: message.properties.messageId });
      channel.ack(message);
    } catch {
      channel.nack(message, false, true);
    }
  });
  return {
    channel,
    close: async () => {
      await channel.cancel(consumerTag);
      await channel.close();
    },
  };
}

// --- the scenario --------------------------------------------------------------------------

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/** A unified social credit code (GB 32100-2015) from its first 17 characters. */
function creditCode(first17) {
  const charset = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  const weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  const total = [...first17].reduce((sum, c, i) => sum + charset.indexOf(c) * weights[i], 0);
  return first17 + charset[(31 - (total % 31)) % 31];
}

/** Calls `fn` until it resolves, as long as it fails with an error `retryable` accepts. */
async function until(fn, retryable, { deadlineMs = 30_000, pauseMs = 200 } = {}) {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (!retryable(error) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}

/** The error a call is expected to end with, as the report shows it. */
async function refusal(promise) {
  try {
    const result = await promise;
    return { refused: false, result };
  } catch (error) {
    if (!(error instanceof RemoteError)) throw error;
    return { refused: true, type: error.type, path: error.path, text: error.text, fields: error.fields };
  }
}

/** Resolves with what `promise` resolves with, or rejects after `ms` with `message`. */
function within(ms, promise, message) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function scenario() {
  const url = env("INTEROP_AMQP_URL");
  const run = env("INTEROP_RUN_ID"); // makes this run's names and keys its own
  const alliance = await Alliance.connect(url, {
    token: env("INTEROP_SYSTEM_TOKEN"),
    correlationId: `interop-${run}`,
    timeoutMs: 15_000,
  });
  const report = { correlation_id: alliance.correlationId };
  try {
    // The subscription first: only events published after the queue is bound reach it.
    const queue = `interop.${run}.tickets`;
    const received = [];
    let firstArrived;
    const arrived = new Promise((resolve) => {
      firstArrived = resolve;
    });
    const subscription = await subscribe(
      alliance.connection,
      { source: "tickets", eventTypes: ["ticket_submitted"], queue },
      (envelope, { redelivered }) => {
        if (received.some((e) => e.event_id === envelope.event_id)) return; // seen already: ack only
        received.push({ ...envelope, redelivered });
        firstArrived();
      },
    );

    // How the wire answers what cannot be carried out.
    report.unknown_method = await refusal(alliance.call("registry", "no_such_method"));
    try {
      await alliance.call("no_such_service", "ping");
      report.unknown_service = { refused: false };
    } catch (error) {
      if (!(error instanceof NoSuchService)) throw error;
      report.unknown_service = {
        refused: true,
        type: error.constructor.name,
        reply_code: error.replyCode,
        reply_text: error.replyText,
      };
    }
    report.unauthenticated = await refusal(alliance.call("registry", "list_districts", {}, { token: null }));
    report.oversized = await refusal(
      alliance.call("registry", "list_districts", { padding: "x".repeat(1024 * 1024) }),
    );

    // registry: a query, then commands.
    report.districts = (await alliance.call("registry", "list_districts")).map((d) => d.id);
    const owner = await alliance.call("registry", "register_person", {
      name: "互通测试店主",
      mobile: `139${String(Date.now()).slice(-8)}`,
      district_id: "wholesale_city",
    });
    const merchant = await alliance.call("registry", "register_merchant", {
      shop_name: `互通测试商户 ${run}`,
      district_id: "wholesale_city",
      category: "服装",
      owner_id: owner.person_id,
      credit_code: creditCode(`91371400${String(Date.now()).slice(-9)}`),
    });
    report.person = owner;
    report.merchant = await alliance.call("registry", "get_merchant", { merchant_id: merchant.merchant_id });

    // A bad input: a ValidationError whose second argument names each field.
    report.validation = await refusal(
      alliance.call("tickets", "submit_ticket", {
        merchant_id: merchant.merchant_id,
        category: "plumbing",
        title: "",
        description: "漏水",
        handling_mode: "assisted",
      }),
    );
    // Outside the caller's role: list_deliveries is for operators and administrators.
    report.forbidden = await refusal(alliance.call("notifications", "list_deliveries", {}));

    // tickets: a command, then the same command again under the same request id (as after a
    // timeout). The merchant reaches tickets' own read model through an event a moment after the
    // registry answered: until then tickets calls it unknown, and the call is worth repeating.
    const demand = {
      merchant_id: merchant.merchant_id,
      category: "bank_financing",
      title: "申请小额经营贷款",
      description: "进货资金周转",
      handling_mode: "assisted",
    };
    const requestId = `interop-${run}-submit-1`;
    const notYetKnown = (e) => e instanceof RemoteError && e.type === "ValidationError" && "merchant_id" in e.fields;
    report.submitted = await until(
      () => alliance.call("tickets", "submit_ticket", demand, { requestId }),
      notYetKnown,
    );
    report.retried = await alliance.call("tickets", "submit_ticket", demand, { requestId });
    report.reused_with_other_arguments = await refusal(
      alliance.call("tickets", "submit_ticket", { ...demand, title: "另一个需求" }, { requestId }),
    );
    report.ticket = await alliance.call("tickets", "get_ticket", { ticket_id: report.submitted.ticket_id });

    // events: a command and a query.
    const day = 24 * 3600 * 1000;
    const starts = new Date(Date.now() + 10 * day);
    const activity = await alliance.call("events", "create_activity", {
      title: `互通测试活动 ${run}`,
      type: "training",
      description: "电商直播培训",
      organisers: ["wholesale_city"],
      venue: "服务中心二楼",
      starts_at: starts.toISOString(),
      ends_at: new Date(starts.getTime() + 2 * 3600 * 1000).toISOString(),
      registration_opens_at: new Date().toISOString(),
      registration_closes_at: new Date(starts.getTime() - day).toISOString(),
      capacity: 30,
      audience: { kinds: ["merchants"], districts: ["wholesale_city"] },
    });
    report.activity = await alliance.call("events", "get_activity", { activity_id: activity.activity_id });

    // notifications: a command and a query.
    const key = `interop-${run}-welcome`;
    report.sent = await alliance.call("notifications", "send", {
      idempotency_key: key,
      person_ids: [owner.person_id],
      title: "欢迎加入商圈联盟",
      body: "您的商户已登记。",
      channels: ["inbox"],
    });
    report.delivery = await alliance.call("notifications", "delivery_status", { idempotency_key: key });

    // The event the submission caused, from the queue declared above; once the consumer is
    // closed, a message it had not acked would be back in the queue.
    await within(30_000, arrived, "no ticket_submitted event within 30 s");
    await subscription.close();
    report.events = received;
    const inspect = await alliance.connection.createChannel();
    report.left_in_queue = (await inspect.checkQueue(queue)).messageCount;
    await inspect.deleteQueue(queue);
    await inspect.close();
  } finally {
    await alliance.close();
  }
  return report;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.stdout.write(`${JSON.stringify(await scenario())}\n`);
  } catch (error) {
    console.error(error);
    process.exit(1);
  }
}
