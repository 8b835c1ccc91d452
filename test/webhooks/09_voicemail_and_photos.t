# 09_voicemail_and_photos.t — a missed caller leaves a voicemail and a
# customer texts a photo, end to end through the real edge, the inbox worker,
# the dispatcher and the fake providers: the dial's TwiML records after the
# greeting words; Twilio's recording callback (signed, retried) keeps one
# voicemail on the call; the dispatcher copies the MP3 with the account's
# credentials and the fake OpenAI transcribes it (multipart upload); the
# transcript joins the conversation and the lead; the owner plays the audio
# through /api/media/{id} (authenticated, never Twilio's URL), byte for byte.
# An MMS photo is copied through Twilio's redirect to storage the same way.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../dispatcher/lib", "$FindBin::Bin/../edge/lib", "$FindBin::Bin/../../scripts/lib";
use Test::More;
use HTTP::Tiny;
use MIME::Base64 qw(encode_base64);
use NmcTest qw(sql fake fake_requests fake_reset wait_until use_fake_providers);
use EdgeTest qw(api register unique_email);
use TwilioWebhook qw(post_twilio random_sid);

my $edge = $ENV{NMC_TEST_BASE_URL};
my $fake = $ENV{NMC_TEST_FAKE_URL};
use_fake_providers();
fake_reset();
sql(q{SELECT nmc.configure('{"job_backoff_base_ms": "20", "job_backoff_max_ms": "50"}')});
my $public = sql("SELECT nmc.setting('public_url')");
my $token = sql("SELECT nmc.webhook_signing_token()");
my $account = 'ACffffffffffffffffffffffffffffffff';
my $number = '+15125550610';
my $caller = '+15125550611';

my $email = unique_email('voicemail');
my $session = register($email)->{token};
my $business = sql("SELECT business_id FROM nmc.users WHERE email = '$email'");
sql("INSERT INTO nmc.phone_numbers (business_id, phone) VALUES ('$business', '$number')");
sql("UPDATE nmc.businesses SET forward_to_phone = '+15125550699' WHERE id = '$business'");
sql(qq{SELECT nmc.hours_replace('$business', (SELECT jsonb_agg(jsonb_build_object('weekday', d, 'opens_at', '00:00', 'closes_at', '24:00'))
                                               FROM generate_series(0, 6) d))});
my $other_session = register(unique_email('voicemail-other'))->{token};

sub twilio { my ($path, $params) = @_; post_twilio($edge, $public, $path, { AccountSid => $account, %$params }, $token) }
sub fake_get {
    my ($path) = @_;
    my $auth = encode_base64("$account:fake_auth_token_0123456789abcdef", '');
    return HTTP::Tiny->new->get("$fake$path", { headers => { Authorization => "Basic $auth" } });
}
sub get_file {
    my ($path, $bearer) = @_;
    return HTTP::Tiny->new->get("$edge$path", { headers => { $bearer ? (Authorization => "Bearer $bearer") : () } });
}

# 1. The call is missed: the caller is told a text is coming, then may leave a message.
my $call_sid = random_sid('CA');
is twilio('/webhooks/twilio/voice', { CallSid => $call_sid, From => $caller, To => $number, CallStatus => 'ringing' })->{status}, 200,
   'the incoming call is forwarded';
my $dial = twilio('/webhooks/twilio/voice/dial', { CallSid => $call_sid, From => $caller, To => $number, CallStatus => 'in-progress',
                                                   DialCallStatus => 'no-answer', DialCallSid => random_sid('CA'), DialBridged => 'false' });
like $dial->{content}, qr{<Say>Sorry we couldn&apos;t take your call\..*leave a message after the beep\.</Say><Record action="\Q$public\E/webhooks/twilio/voice/recorded" method="POST" maxLength="120"},
     'no answer: the words, then <Record> with our action URL and the length limit';
my ($callback) = $dial->{content} =~ /recordingStatusCallback="([^"]+)"/;
is $callback, "$public/webhooks/twilio/voice/recording?To=%2B15125550610", 'the recording callback names the business number';
like $dial->{content}, qr{recordingStatusCallbackEvent="completed absent"/><Hangup/></Response>$}, '… for completed and absent recordings, then hang up';
ok wait_until(sub { @{ fake_requests(path => 'Messages.json') } >= 1 }, 15), 'the greeting text went out without waiting for any voicemail';
is twilio('/webhooks/twilio/voice/recorded', { CallSid => $call_sid, RecordingUrl => 'x', RecordingDuration => '14', Digits => 'hangup' })->{content},
   '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>', 'the Record action hangs up';

# 2. Twilio's recording status callback, delivered twice.
(my $callback_path = $callback) =~ s/^\Q$public\E//;
my $recording = random_sid('RE');
my %rec = (CallSid => $call_sid, RecordingSid => $recording, RecordingStatus => 'completed', RecordingDuration => '14',
           RecordingChannels => '1', RecordingSource => 'RecordVerb', RecordingStartTime => 'Thu, 03 Dec 2026 15:04:05 +0000', ErrorCode => '0',
           RecordingUrl => "$fake/2010-04-01/Accounts/$account/Recordings/$recording");
is post_twilio($edge, $public, $callback_path, { AccountSid => $account, %rec }, $token, 'bad-signature')->{status}, 403,
   'an unsigned recording callback is refused';
is sql("SELECT count(*) FROM nmc.voicemails WHERE recording_sid = '$recording'"), 0, '… and keeps nothing';
is twilio($callback_path, \%rec)->{status}, 200, 'the recording callback is accepted';
ok wait_until(sub { (sql("SELECT transcript_status FROM nmc.voicemails WHERE recording_sid = '$recording'") // '') eq 'done' }, 20),
   'the voicemail is kept, copied and transcribed';
is twilio($callback_path, \%rec)->{status}, 200, 'Twilio retries the callback';
my $audio = fake_get("/2010-04-01/Accounts/$account/Recordings/$recording.mp3");
is $audio->{status}, 200, 'the fake holds the MP3';
my $expected = qq{Hi, this is Dana Smith at 12 Oak Street. Our water heater is leaking into the garage, please call me back. (} . length($audio->{content}) . ' bytes)';
is sql("SELECT transcript FROM nmc.voicemails WHERE recording_sid = '$recording'"), $expected, 'the transcript of the whole recording';
ok wait_until(sub { sql("SELECT count(*) FROM nmc.webhook_inbox WHERE kind = 'voice_recording'") == 0 }, 10), 'the retry was applied';
is sql("SELECT count(*) FROM nmc.voicemails WHERE call_id = (SELECT id FROM nmc.calls WHERE twilio_call_sid = '$call_sid')"), 1,
   'one voicemail on the call after the retry';
my @fetches = grep { ($_->{headers}{'User-Agent'} // '') =~ /^nevermisscall/ } @{ fake_requests(path => "Recordings/$recording") };
is scalar(@fetches), 1, 'the recording was fetched once';
my $fetch = $fetches[0];
like $fetch->{path}, qr/\.mp3$/, '… as MP3';
my $uploads = fake_requests(path => 'audio/transcriptions');
is scalar(@$uploads), 1, 'and transcribed once';
like $uploads->[0]{body}, qr/name="model"\r\n\r\nwhisper-1\r\n/, '… with the configured model';

# 3. The owner's view: the call, the conversation, the lead, the audio.
my ($status, $calls) = api(GET => '/api/calls', undef, $session);
my ($c) = grep { $_->{id} eq sql("SELECT id FROM nmc.calls WHERE twilio_call_sid = '$call_sid'") } @{ $calls->{calls} };
is $c->{voicemail}{transcript}, $expected, 'the call log shows the transcript';
is $c->{voicemail}{duration_seconds}, 14, '… and the length';
like $c->{voicemail}{audio_url}, qr{^/api/media/[0-9a-f-]{36}$}, '… and plays through our API, not Twilio';
unlike join(' ', map { $_ // '' } %{ $c->{voicemail} }), qr/twilio|$fake/i, 'no provider URL reaches the page';
my $file = get_file($c->{voicemail}{audio_url}, $session);
is $file->{status}, 200, 'the owner gets the recording';
is $file->{headers}{'content-type'}, 'audio/mpeg', '… as audio/mpeg';
ok $file->{content} eq $audio->{content}, '… byte for byte (' . length($file->{content}) . ' bytes, NULs included)';
is get_file($c->{voicemail}{audio_url})->{status}, 401, 'without a session: 401';
is get_file($c->{voicemail}{audio_url}, $other_session)->{status}, 404, 'another business: 404';
is sql(qq{SELECT m.body FROM nmc.messages m JOIN nmc.voicemails v ON v.message_id = m.id WHERE v.recording_sid = '$recording'}),
   "Voicemail: $expected", 'the transcript joins the conversation as the caller\'s words';
my (undef, $thread) = api(GET => '/api/conversations/' . sql("SELECT conversation_id FROM nmc.calls WHERE twilio_call_sid = '$call_sid'"), undef, $session);
my ($vm_message) = grep { ($_->{body} // '') =~ /^Voicemail: / } @{ $thread->{messages} };
is_deeply $vm_message->{media}, [{ content_type => 'audio/mpeg', url => $c->{voicemail}{audio_url} }], '… with the recording to play in the thread';
is sql(qq{SELECT l.problem FROM nmc.leads l JOIN nmc.calls c ON c.lead_id = l.id WHERE c.twilio_call_sid = '$call_sid'}), $expected,
   'and becomes the lead\'s problem';

# 4. Nothing said: absent, nothing fetched.
my $call2 = random_sid('CA');
my $silent = random_sid('RE');
twilio('/webhooks/twilio/voice', { CallSid => $call2, From => '+15125550612', To => $number, CallStatus => 'ringing' });
twilio('/webhooks/twilio/voice/dial', { CallSid => $call2, From => '+15125550612', To => $number, DialCallStatus => 'busy', DialBridged => 'false' });
twilio($callback_path, { %rec, CallSid => $call2, RecordingSid => $silent, RecordingStatus => 'absent', RecordingDuration => '0', ErrorCode => '16101',
                         RecordingUrl => "$fake/2010-04-01/Accounts/$account/Recordings/$silent" });
ok wait_until(sub { sql("SELECT count(*) FROM nmc.voicemails WHERE recording_sid = '$silent'") == 1 }, 10), 'an absent recording is noted';
is sql("SELECT status || ' ' || coalesce(file_id::text, 'no file') FROM nmc.voicemails WHERE recording_sid = '$silent'"), 'absent no file',
   '… as absent, with nothing to fetch';

# 5. A transcription the provider refuses: the owner still gets the voicemail.
my $call3 = random_sid('CA');
my $untranscribed = random_sid('RE');
fake(POST => '/_fake/faults', { match => 'audio/transcriptions', status => 400, count => 1 });
twilio('/webhooks/twilio/voice', { CallSid => $call3, From => '+15125550613', To => $number, CallStatus => 'ringing' });
twilio('/webhooks/twilio/voice/dial', { CallSid => $call3, From => '+15125550613', To => $number, DialCallStatus => 'no-answer', DialBridged => 'false' });
twilio($callback_path, { %rec, CallSid => $call3, RecordingSid => $untranscribed, RecordingDuration => '9',
                         RecordingUrl => "$fake/2010-04-01/Accounts/$account/Recordings/$untranscribed" });
ok wait_until(sub { (sql("SELECT transcript_status FROM nmc.voicemails WHERE recording_sid = '$untranscribed'") // '') eq 'failed' }, 20),
   'a refused transcription is marked failed';
is sql(qq{SELECT m.body FROM nmc.messages m JOIN nmc.voicemails v ON v.message_id = m.id WHERE v.recording_sid = '$untranscribed'}),
   'Voicemail (9 s)', '… and the voicemail still joins the conversation, without words';

# 6. A photo by MMS: copied through Twilio's redirect to storage, served by our API.
my $mms = random_sid('MM');
my $media = random_sid('ME');
is twilio('/webhooks/twilio/sms', { MessageSid => $mms, From => $caller, To => $number, Body => '', NumMedia => '1',
                                    MediaContentType0 => 'image/jpeg', MediaUrl0 => "$fake/2010-04-01/Accounts/$account/Messages/$mms/Media/$media" })->{status},
   200, 'an MMS with a photo is accepted';
ok wait_until(sub { (sql(qq{SELECT f.status FROM nmc.messages m, jsonb_array_elements(m.media) x, nmc.media_files f
                            WHERE m.twilio_sid = '$mms' AND f.id = (x ->> 'file_id')::uuid}) // '') eq 'stored' }, 20),
   'the photo is copied';
my $conversation = sql("SELECT conversation_id FROM nmc.messages WHERE twilio_sid = '$mms'");
my (undef, $conv) = api(GET => "/api/conversations/$conversation", undef, $session);
my ($photo_message) = grep { (($_->{media} // [])->[0]{content_type} // '') eq 'image/jpeg' } @{ $conv->{messages} };
like $photo_message->{media}[0]{url}, qr{^/api/media/[0-9a-f-]{36}$}, 'the conversation shows the photo at our URL';
my $photo = get_file($photo_message->{media}[0]{url}, $session);
my $stored = HTTP::Tiny->new->get("$fake/twilio-storage/$media");
is $photo->{headers}{'content-type'}, 'image/jpeg', 'the photo is served as image/jpeg';
ok $photo->{content} eq $stored->{content} && length($photo->{content}) > 2000, '… byte for byte as Twilio\'s storage holds it';
my ($media_fetch) = @{ fake_requests(path => "Media/$media") };
like $media_fetch->{headers}{Authorization} // '', qr/^Basic /, 'Twilio got the account\'s credentials';
my ($storage_fetch) = @{ fake_requests(path => "twilio-storage/$media") };
ok $storage_fetch && !$storage_fetch->{headers}{Authorization}, 'the storage host it redirected to did not';

# 7. Voicemail off: the caller only hears the words.
is((api(PATCH => '/api/business', { voicemail_enabled => JSON::PP::false }, $session))[0], 200, 'the owner turns voicemail off');
my $call4 = random_sid('CA');
twilio('/webhooks/twilio/voice', { CallSid => $call4, From => '+15125550614', To => $number, CallStatus => 'ringing' });
like twilio('/webhooks/twilio/voice/dial', { CallSid => $call4, From => '+15125550614', To => $number, DialCallStatus => 'no-answer',
                                              DialBridged => 'false' })->{content},
     qr{</Say><Hangup/></Response>$}, 'then a missed caller hears the words and the call ends';

done_testing;
