// rabbitmq-c, plus the calls Swift cannot make directly (variadic login) or only clumsily
// (field tables, basic properties, confirm frames).
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <amqp_ssl_socket.h>
#include <amqp_framing.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

/// Logs in with PLAIN credentials; `amqp_login` itself is variadic.
static inline amqp_rpc_reply_t ecom_amqp_login(amqp_connection_state_t state, const char *vhost, int heartbeat,
                                               const char *user, const char *password) {
    return amqp_login(state, vhost, 0, AMQP_DEFAULT_FRAME_SIZE, heartbeat, AMQP_SASL_METHOD_PLAIN, user, password);
}

// Names are passed as C strings so that they live for the whole call: `amqp_cstring_bytes`
// on a string Swift bridged for one argument would point at freed memory.

/// Declares a durable exchange of `type`.
static inline void ecom_amqp_exchange_declare(amqp_connection_state_t state, amqp_channel_t channel, const char *exchange,
                                              const char *type) {
    amqp_exchange_declare(state, channel, amqp_cstring_bytes(exchange), amqp_cstring_bytes(type), 0, 1, 0, 0,
                          amqp_empty_table);
}

/// Binds `queue` to `exchange` for `routing_key`.
static inline void ecom_amqp_queue_bind(amqp_connection_state_t state, amqp_channel_t channel, const char *queue,
                                        const char *exchange, const char *routing_key) {
    amqp_queue_bind(state, channel, amqp_cstring_bytes(queue), amqp_cstring_bytes(exchange),
                    amqp_cstring_bytes(routing_key), amqp_empty_table);
}

/// Takes away the binding of `queue` to `exchange` for `routing_key`, if there is one.
static inline void ecom_amqp_queue_unbind(amqp_connection_state_t state, amqp_channel_t channel, const char *queue,
                                          const char *exchange, const char *routing_key) {
    amqp_queue_unbind(state, channel, amqp_cstring_bytes(queue), amqp_cstring_bytes(exchange),
                      amqp_cstring_bytes(routing_key), amqp_empty_table);
}

/// Consumes `queue` with manual acknowledgements.
static inline void ecom_amqp_basic_consume(amqp_connection_state_t state, amqp_channel_t channel, const char *queue) {
    amqp_basic_consume(state, channel, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
}

/// Sets a field table entry to a string.
static inline void ecom_amqp_table_string(amqp_table_entry_t *entry, const char *key, const char *value) {
    entry->key = amqp_cstring_bytes(key);
    entry->value.kind = AMQP_FIELD_KIND_UTF8;
    entry->value.value.bytes = amqp_cstring_bytes(value);
}

/// Declares a durable queue; with a dead-letter exchange, rejected messages go there. A quorum
/// queue (`quorum` non-zero) is replicated across the cluster's nodes; it dead-letters at least
/// once (which needs reject-publish overflow), and a message delivered `delivery_limit` times
/// without an acknowledgement is dead-lettered too.
static inline int ecom_amqp_queue_declare(amqp_connection_state_t state, amqp_channel_t channel, const char *queue,
                                          const char *dead_letter_exchange, int quorum, int32_t delivery_limit) {
    amqp_table_entry_t entries[5];
    int count = 0;
    if (dead_letter_exchange != NULL) {
        ecom_amqp_table_string(&entries[count++], "x-dead-letter-exchange", dead_letter_exchange);
    }
    if (quorum) {
        ecom_amqp_table_string(&entries[count++], "x-queue-type", "quorum");
        entries[count].key = amqp_cstring_bytes("x-delivery-limit");
        entries[count].value.kind = AMQP_FIELD_KIND_I32;
        entries[count].value.value.i32 = delivery_limit;
        count++;
        if (dead_letter_exchange != NULL) {
            ecom_amqp_table_string(&entries[count++], "x-dead-letter-strategy", "at-least-once");
            ecom_amqp_table_string(&entries[count++], "x-overflow", "reject-publish");
        }
    }
    amqp_table_t arguments;
    arguments.num_entries = count;
    arguments.entries = count > 0 ? entries : NULL;
    return amqp_queue_declare(state, channel, amqp_cstring_bytes(queue), 0, 1, 0, 0, arguments) != NULL;
}

/// Reads a queue's ready messages and consumers (a passive declare); returns 0 if it does not exist.
static inline int ecom_amqp_queue_inspect(amqp_connection_state_t state, amqp_channel_t channel, const char *queue,
                                          uint32_t *messages, uint32_t *consumers) {
    amqp_queue_declare_ok_t *ok =
        amqp_queue_declare(state, channel, amqp_cstring_bytes(queue), 1, 0, 0, 0, amqp_empty_table);
    if (ok == NULL) return 0;
    *messages = ok->message_count;
    *consumers = ok->consumer_count;
    return 1;
}

/// Publishes a persistent JSON message whose message id is `message_id`.
static inline int ecom_amqp_publish(amqp_connection_state_t state, amqp_channel_t channel, const char *exchange,
                                    const char *routing_key, const char *message_id, const void *body, size_t length) {
    amqp_basic_properties_t properties;
    memset(&properties, 0, sizeof properties);
    properties._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG;
    properties.content_type = amqp_cstring_bytes("application/json");
    properties.delivery_mode = AMQP_DELIVERY_PERSISTENT;
    properties.message_id = amqp_cstring_bytes(message_id);
    amqp_bytes_t bytes;
    bytes.len = length;
    bytes.bytes = (void *)body;
    return amqp_basic_publish(state, channel, amqp_cstring_bytes(exchange), amqp_cstring_bytes(routing_key), 0, 0,
                              &properties, bytes);
}

enum ecom_amqp_confirm_kind {
    ECOM_AMQP_CONFIRM_ACK = 1,
    ECOM_AMQP_CONFIRM_NACK = 2,
    ECOM_AMQP_CONFIRM_OTHER = 3,
    ECOM_AMQP_CONFIRM_CLOSED = 4,
};

/// Waits up to `timeout_ms` for the next frame on a confirm channel. Returns a library status
/// (negative, `AMQP_STATUS_TIMEOUT` when nothing came) or an `ecom_amqp_confirm_kind`, with the
/// acknowledged delivery tag and whether it covers every earlier tag too.
static inline int ecom_amqp_wait_confirm(amqp_connection_state_t state, int timeout_ms, uint64_t *delivery_tag,
                                         int *multiple) {
    amqp_frame_t frame;
    struct timeval timeout;
    timeout.tv_sec = timeout_ms / 1000;
    timeout.tv_usec = (timeout_ms % 1000) * 1000;
    int status = amqp_simple_wait_frame_noblock(state, &frame, &timeout);
    if (status != AMQP_STATUS_OK) return status;
    if (frame.frame_type != AMQP_FRAME_METHOD) return ECOM_AMQP_CONFIRM_OTHER;
    switch (frame.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
        amqp_basic_ack_t *ack = (amqp_basic_ack_t *)frame.payload.method.decoded;
        *delivery_tag = ack->delivery_tag;
        *multiple = ack->multiple;
        return ECOM_AMQP_CONFIRM_ACK;
    }
    case AMQP_BASIC_NACK_METHOD: {
        amqp_basic_nack_t *nack = (amqp_basic_nack_t *)frame.payload.method.decoded;
        *delivery_tag = nack->delivery_tag;
        *multiple = nack->multiple;
        return ECOM_AMQP_CONFIRM_NACK;
    }
    case AMQP_CHANNEL_CLOSE_METHOD:
    case AMQP_CONNECTION_CLOSE_METHOD:
        return ECOM_AMQP_CONFIRM_CLOSED;
    default:
        return ECOM_AMQP_CONFIRM_OTHER;
    }
}

/// The broker's reason in a server exception reply, or an empty string.
static inline void ecom_amqp_server_error(amqp_rpc_reply_t reply, char *buffer, size_t size) {
    buffer[0] = 0;
    if (reply.reply_type != AMQP_RESPONSE_SERVER_EXCEPTION || size == 0) return;
    amqp_bytes_t text = {0, NULL};
    int code = 0;
    if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        amqp_connection_close_t *close = (amqp_connection_close_t *)reply.reply.decoded;
        code = close->reply_code;
        text = close->reply_text;
    } else if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        amqp_channel_close_t *close = (amqp_channel_close_t *)reply.reply.decoded;
        code = close->reply_code;
        text = close->reply_text;
    }
    snprintf(buffer, size, "%d %.*s", code, (int)text.len, text.bytes == NULL ? "" : (const char *)text.bytes);
}

/// Copies the string header `key` of `properties` into `out` (NUL-terminated, cut to fit
/// `capacity`) and returns its length; -1 if the message has no such string header.
static inline int ecom_amqp_header_string(const amqp_basic_properties_t *properties, const char *key, char *out,
                                          size_t capacity) {
    if (!(properties->_flags & AMQP_BASIC_HEADERS_FLAG) || capacity == 0) return -1;
    size_t key_length = strlen(key);
    for (int i = 0; i < properties->headers.num_entries; i++) {
        const amqp_table_entry_t *entry = &properties->headers.entries[i];
        if (entry->key.len != key_length || memcmp(entry->key.bytes, key, key_length) != 0) continue;
        if (entry->value.kind != AMQP_FIELD_KIND_UTF8 && entry->value.kind != AMQP_FIELD_KIND_BYTES) return -1;
        size_t length = entry->value.value.bytes.len < capacity - 1 ? entry->value.value.bytes.len : capacity - 1;
        memcpy(out, entry->value.value.bytes.bytes, length);
        out[length] = 0;
        return (int)length;
    }
    return -1;
}
