// Fills an XForm in JavaRosa (the form engine inside ODK Collect, shipped in pyxform's
// ODK_Validate.jar) the way Collect steps through it, and prints what happened.
//
//   java -cp ODK_Validate.jar FillForm.java FORM.xml MEDIA_DIR SCENARIO...
//
// A scenario file has one answer per line, "<path><TAB><value>", the path without repeat
// indices (/data/household/child/c_sex); a path listed twice is answered in order, one line
// per repeat instance. For each scenario the output is:
//   SCENARIO <file>
//   ASKED <path>               every question or note the engine showed (relevant ones)
//   CHOICES <path> <value>...  the choices a select offered (after its choice filter)
//   REJECTED <path> <value>    an answer the engine refused (constraint); the next value
//                              queued for the same path is tried, as a person would
//   INVALID <path> <outcome>   what validation at finalisation found (required, constraint)
//   INSTANCE <xml on one line> the submission as the engine serialises it
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import org.javarosa.core.model.*;
import org.javarosa.core.model.data.*;
import org.javarosa.core.model.instance.InstanceInitializationFactory;
import org.javarosa.core.reference.*;
import org.javarosa.core.services.PropertyManager;
import org.javarosa.form.api.*;
import org.javarosa.model.xform.XFormSerializingVisitor;
import org.javarosa.xform.util.XFormUtils;
import org.opendatakit.validate.StubPropertyManager;

public class FillForm {
    /** jr://file-csv/NAME and jr://file/NAME → MEDIA_DIR/NAME. */
    static final class MediaFactory implements ReferenceFactory {
        final Path dir;
        MediaFactory(Path dir) { this.dir = dir; }
        public boolean derives(String uri) { return uri.startsWith("jr://file"); }
        public Reference derive(String uri) {
            final Path file = dir.resolve(uri.substring(uri.lastIndexOf('/') + 1));
            return new Reference() {
                public boolean doesBinaryExist() { return Files.exists(file); }
                public InputStream getStream() throws IOException { return Files.newInputStream(file); }
                public String getURI() { return uri; }
                public String getLocalURI() { return file.toString(); }
                public boolean isReadOnly() { return true; }
                public OutputStream getOutputStream() { throw new UnsupportedOperationException(); }
                public void remove() { throw new UnsupportedOperationException(); }
                public Reference[] probeAlternativeReferences() { return new Reference[0]; }
            };
        }
        public Reference derive(String uri, String context) { return derive(uri); }
    }

    static String generic(FormIndex index) {
        return index.getReference().genericize().toString(false);
    }

    public static void main(String[] args) throws Exception {
        PropertyManager.setPropertyManager(new StubPropertyManager());
        ReferenceManager.instance().addReferenceFactory(new MediaFactory(Paths.get(args[1])));
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
        for (int s = 2; s < args.length; s++) {
            out.println("SCENARIO " + args[s]);
            Map<String, Deque<String>> answers = new HashMap<>();
            for (String line : Files.readAllLines(Paths.get(args[s]), StandardCharsets.UTF_8)) {
                if (line.isBlank() || line.startsWith("#")) continue;
                String[] parts = line.split("\t", 2);
                answers.computeIfAbsent(parts[0], k -> new ArrayDeque<>())
                        .add(parts.length > 1 ? parts[1] : "");
            }
            FormDef form;
            try (InputStream in = Files.newInputStream(Paths.get(args[0]))) {
                form = XFormUtils.getFormFromInputStream(in);
            }
            form.initialize(true, new InstanceInitializationFactory());
            FormEntryModel model = new FormEntryModel(form);
            FormEntryController controller = new FormEntryController(model);
            int event;
            while ((event = controller.stepToNextEvent()) != FormEntryController.EVENT_END_OF_FORM) {
                if (event != FormEntryController.EVENT_QUESTION) continue;
                FormIndex index = model.getFormIndex();
                String path = generic(index);
                out.println("ASKED " + path);
                FormEntryPrompt prompt = model.getQuestionPrompt();
                List<SelectChoice> choices = prompt.getSelectChoices();
                if (choices != null) {
                    StringBuilder line = new StringBuilder("CHOICES " + path);
                    for (SelectChoice choice : choices) line.append(' ').append(choice.getValue());
                    out.println(line);
                }
                Deque<String> queue = answers.get(path);
                while (queue != null && !queue.isEmpty()) {
                    String value = queue.poll();
                    IAnswerData data = value.isEmpty() ? null
                            : AnswerDataFactory.templateByDataType(prompt.getDataType())
                                    .cast(new UncastData(value));
                    if (controller.answerQuestion(index, data, true) == FormEntryController.ANSWER_OK) {
                        break;
                    }
                    out.println("REJECTED " + path + " " + value);
                }
            }
            ValidateOutcome outcome = form.validate(true);
            if (outcome != null) {
                out.println("INVALID " + generic(outcome.failedPrompt) + " " + outcome.outcome);
            }
            form.postProcessInstance();
            byte[] xml = new XFormSerializingVisitor().serializeInstance(form.getInstance());
            out.println("INSTANCE " + new String(xml, StandardCharsets.UTF_8).replace("\n", " "));
        }
    }
}
