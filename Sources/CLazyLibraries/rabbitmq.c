// The librabbitmq functions ecom calls (EcomMessaging's RabbitMQ transport), opened on first use.
#include <stdarg.h>
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>

#include "loader.h"

#define AMQP(result, name, parameters, arguments) ECOM_FORWARD(ecom_lazy_rabbitmq, result, name, parameters, arguments)
#define AMQP_VOID(name, parameters, arguments) ECOM_FORWARD_VOID(ecom_lazy_rabbitmq, name, parameters, arguments)

// The library's two constants, which its header declares and ecom passes by value: an empty byte
// string and an empty field table.
const amqp_bytes_t amqp_empty_bytes = {0, NULL};
const amqp_table_t amqp_empty_table = {0, NULL};

// Connections and sockets
AMQP(amqp_connection_state_t, amqp_new_connection, (void), ())
AMQP(int, amqp_destroy_connection, (amqp_connection_state_t state), (state))
AMQP_VOID(amqp_default_connection_info, (struct amqp_connection_info *parsed), (parsed))
AMQP(int, amqp_parse_url, (char *url, struct amqp_connection_info *parsed), (url, parsed))
AMQP(amqp_socket_t *, amqp_tcp_socket_new, (amqp_connection_state_t state), (state))
AMQP(amqp_socket_t *, amqp_ssl_socket_new, (amqp_connection_state_t state), (state))
AMQP(int, amqp_ssl_socket_set_cacert, (amqp_socket_t *self, const char *cacert), (self, cacert))
AMQP_VOID(amqp_ssl_socket_set_verify_peer, (amqp_socket_t *self, amqp_boolean_t verify), (self, verify))
AMQP_VOID(amqp_ssl_socket_set_verify_hostname, (amqp_socket_t *self, amqp_boolean_t verify), (self, verify))
AMQP(int, amqp_socket_open_noblock, (amqp_socket_t *self, const char *host, int port, const struct timeval *timeout),
     (self, host, port, timeout))
AMQP(int, amqp_set_handshake_timeout, (amqp_connection_state_t state, const struct timeval *timeout), (state, timeout))
AMQP(int, amqp_set_rpc_timeout, (amqp_connection_state_t state, const struct timeval *timeout), (state, timeout))
AMQP(amqp_rpc_reply_t, amqp_connection_close, (amqp_connection_state_t state, int code), (state, code))
AMQP(amqp_rpc_reply_t, amqp_get_rpc_reply, (amqp_connection_state_t state), (state))
AMQP_VOID(amqp_maybe_release_buffers, (amqp_connection_state_t state), (state))
AMQP(const char *, amqp_error_string2, (int err), (err))
AMQP(amqp_bytes_t, amqp_cstring_bytes, (char const *cstr), (cstr))

// The login's arguments after the method are its credentials: a user name and a password for
// PLAIN, an identity for EXTERNAL (as the library reads them).
amqp_rpc_reply_t amqp_login(amqp_connection_state_t state, char const *vhost, int channel_max, int frame_max,
                            int heartbeat, amqp_sasl_method_enum sasl_method, ...) {
    static void *cache;
    __typeof__(&amqp_login) function = ecom_lazy_function(&ecom_lazy_rabbitmq, "amqp_login", &cache);
    va_list arguments;
    va_start(arguments, sasl_method);
    amqp_rpc_reply_t reply;
    if (sasl_method == AMQP_SASL_METHOD_PLAIN) {
        const char *user = va_arg(arguments, const char *);
        const char *password = va_arg(arguments, const char *);
        reply = function(state, vhost, channel_max, frame_max, heartbeat, sasl_method, user, password);
    } else {
        const char *identity = va_arg(arguments, const char *);
        reply = function(state, vhost, channel_max, frame_max, heartbeat, sasl_method, identity);
    }
    va_end(arguments);
    return reply;
}

// Channels, exchanges and queues
AMQP(amqp_channel_open_ok_t *, amqp_channel_open, (amqp_connection_state_t state, amqp_channel_t channel), (state, channel))
AMQP(amqp_rpc_reply_t, amqp_channel_close, (amqp_connection_state_t state, amqp_channel_t channel, int code),
     (state, channel, code))
AMQP(amqp_confirm_select_ok_t *, amqp_confirm_select, (amqp_connection_state_t state, amqp_channel_t channel),
     (state, channel))
AMQP(amqp_exchange_declare_ok_t *, amqp_exchange_declare,
     (amqp_connection_state_t state, amqp_channel_t channel, amqp_bytes_t exchange, amqp_bytes_t type,
      amqp_boolean_t passive, amqp_boolean_t durable, amqp_boolean_t auto_delete, amqp_boolean_t internal,
      amqp_table_t arguments),
     (state, channel, exchange, type, passive, durable, auto_delete, internal, arguments))
AMQP(amqp_queue_declare_ok_t *, amqp_queue_declare,
     (amqp_connection_state_t state, amqp_channel_t channel, amqp_bytes_t queue, amqp_boolean_t passive,
      amqp_boolean_t durable, amqp_boolean_t exclusive, amqp_boolean_t auto_delete, amqp_table_t arguments),
     (state, channel, queue, passive, durable, exclusive, auto_delete, arguments))
AMQP(amqp_queue_bind_ok_t *, amqp_queue_bind,
     (amqp_connection_state_t state, amqp_channel_t channel, amqp_bytes_t queue, amqp_bytes_t exchange,
      amqp_bytes_t routing_key, amqp_table_t arguments),
     (state, channel, queue, exchange, routing_key, arguments))
AMQP(amqp_queue_unbind_ok_t *, amqp_queue_unbind,
     (amqp_connection_state_t state, amqp_channel_t channel, amqp_bytes_t queue, amqp_bytes_t exchange,
      amqp_bytes_t routing_key, amqp_table_t arguments),
     (state, channel, queue, exchange, routing_key, arguments))

// Publishing and consuming
AMQP(int, amqp_basic_publish,
     (amqp_connection_state_t state, amqp_channel_t channel, amqp_bytes_t exchange, amqp_bytes_t routing_key,
      amqp_boolean_t mandatory, amqp_boolean_t immediate, struct amqp_basic_properties_t_ const *properties,
      amqp_bytes_t body),
     (state, channel, exchange, routing_key, mandatory, immediate, properties, body))
AMQP(amqp_basic_qos_ok_t *, amqp_basic_qos,
     (amqp_connection_state_t state, amqp_channel_t channel, uint32_t prefetch_size, uint16_t prefetch_count,
      amqp_boolean_t global),
     (state, channel, prefetch_size, prefetch_count, global))
AMQP(amqp_basic_consume_ok_t *, amqp_basic_consume,
     (amqp_connection_state_t state, amqp_channel_t channel, amqp_bytes_t queue, amqp_bytes_t consumer_tag,
      amqp_boolean_t no_local, amqp_boolean_t no_ack, amqp_boolean_t exclusive, amqp_table_t arguments),
     (state, channel, queue, consumer_tag, no_local, no_ack, exclusive, arguments))
AMQP(amqp_rpc_reply_t, amqp_consume_message,
     (amqp_connection_state_t state, amqp_envelope_t *envelope, const struct timeval *timeout, int flags),
     (state, envelope, timeout, flags))
AMQP_VOID(amqp_destroy_envelope, (amqp_envelope_t *envelope), (envelope))
AMQP(int, amqp_basic_ack, (amqp_connection_state_t state, amqp_channel_t channel, uint64_t delivery_tag, amqp_boolean_t multiple),
     (state, channel, delivery_tag, multiple))
AMQP(int, amqp_basic_reject, (amqp_connection_state_t state, amqp_channel_t channel, uint64_t delivery_tag, amqp_boolean_t requeue),
     (state, channel, delivery_tag, requeue))
AMQP(int, amqp_simple_wait_frame_noblock, (amqp_connection_state_t state, amqp_frame_t *decoded_frame, const struct timeval *tv),
     (state, decoded_frame, tv))
