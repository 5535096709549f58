// Produces the lines of standard input to a Kafka topic with the Java client: bulk test data, fast.
//
//   java -cp '<kafka libs>/*' scripts/ProduceLines.java <bootstrap> <topic>     (run by `node scripts/kafka.mjs produce`)
//
// Each line is `key<TAB>value` (a line without a tab is a value with a null key), UTF-8. Records are sent
// with acks=all by an idempotent producer and partitioned by Kafka's default partitioner (murmur2 of the
// key), like kafkajs's DefaultPartitioner. Prints the number of records sent once all are acknowledged.
// kafkajs encodes records in JavaScript; on a busy 2-core machine it sends ~15k small records/s, this ~1M.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class ProduceLines {
  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: ProduceLines <bootstrap> <topic>");
      System.exit(2);
    }
    Properties props = new Properties();
    props.put("bootstrap.servers", args[0]);
    props.put("acks", "all");
    props.put("enable.idempotence", "true");
    props.put("linger.ms", "20");
    props.put("batch.size", "262144");
    props.put("key.serializer", ByteArraySerializer.class.getName());
    props.put("value.serializer", ByteArraySerializer.class.getName());
    AtomicReference<Exception> failure = new AtomicReference<>();
    long n = 0;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8), 1 << 20)) {
      String line;
      while ((line = in.readLine()) != null && failure.get() == null) {
        int tab = line.indexOf('\t');
        byte[] key = tab < 0 ? null : line.substring(0, tab).getBytes(StandardCharsets.UTF_8);
        byte[] value = (tab < 0 ? line : line.substring(tab + 1)).getBytes(StandardCharsets.UTF_8);
        producer.send(new ProducerRecord<>(args[1], key, value), (meta, err) -> {
          if (err != null) failure.compareAndSet(null, err);
        });
        n++;
      }
      producer.flush();
    }
    if (failure.get() != null) {
      System.err.println("ProduceLines: " + failure.get());
      System.exit(1);
    }
    System.out.println(n);
  }
}
