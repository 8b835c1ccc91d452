# 03_assistant_with_openai.t — the assistant end to end through the real edge,
# dispatcher and fake providers: signed inbound texts in; the fake OpenAI's
# scripted tool calls drive the turn (details, area check, open slots, a
# booking confirmed from the row); the fake Google Maps geocodes an address
# outside the radius; the fake OpenAI failing hands the customer to a person.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../dispatcher/lib", "$FindBin::Bin/../../scripts/lib";
use Test::More;
use JSON::PP;
use NmcTest qw(sql fake fake_requests fake_reset wait_until use_fake_providers);
use TwilioWebhook qw(post_twilio random_sid);

my $json = JSON::PP->new->canonical;
my $edge = $ENV{NMC_TEST_BASE_URL};
use_fake_providers();
fake_reset();
sql(q{SELECT nmc.configure('{"job_backoff_base_ms": "20", "job_backoff_max_ms": "50"}')});
my $public = sql("SELECT nmc.setting('public_url')");
my $token = sql("SELECT nmc.webhook_signing_token()");

my ($business) = sql("SELECT nmc_test.business_with_number('+15125550180')");
# The window takes its length from the business: 0 s here, so the assistant answers at once.
sql("UPDATE nmc.businesses SET human_window_seconds = 0, service_postal_codes = '{78701}' WHERE id = '$business'");

sub text_in {
    my ($from, $body) = @_;
    my $r = post_twilio($edge, $public, '/webhooks/twilio/sms',
        { MessageSid => random_sid('SM'), AccountSid => 'ACffffffffffffffffffffffffffffffff', From => $from, To => '+15125550180', Body => $body }, $token);
    die "inbound text refused: $r->{status}\n" unless $r->{status} == 200;
}
sub call { my ($id, $name, $args) = @_; { id => $id, type => 'function', function => { name => $name, arguments => $json->encode($args) } } }
sub script { fake(POST => '/_fake/openai/responses', undef, $json->encode(\@_)) }
sub texts_to { my ($to) = @_; [ grep { $_->{body} =~ /To=\Q$to\E/ } @{ fake_requests(path => 'Messages.json') } ] }
sub chats { [ map { $json->decode($_->{body}) } @{ fake_requests(path => 'chat/completions') } ] }
sub form_body { my ($b) = @_; (my $s = ($b =~ /(?:^|&)Body=([^&]*)/)[0] // '') =~ tr/+/ /; $s =~ s/%([0-9A-F]{2})/chr hex $1/gei; $s }

# 1. A text → window over at once → three model calls → the question reaches the fake Twilio.
fake(POST => '/_fake/maps/geocode', { address => '12 Elm St, Austin TX 78701', lat => 30.2711, lng => -97.7437,
                                      formatted_address => '12 Elm St, Austin, TX 78701, USA', postal_code => '78701' });
script({ content => undef, tool_calls => [
            call('call_a', 'save_customer_details', { name => 'Jane Doe', service_address => '12 Elm St, Austin TX 78701',
                                                      problem => 'Water heater leaking', urgency => 'urgent' }),
            call('call_b', 'check_service_area', { address => '12 Elm St, Austin TX 78701' }) ] },
       { content => undef, tool_calls => [ call('call_c', 'find_open_slots', { on_or_after => undef, count => 2 }) ] },
       { content => 'I have two times open. Reply with the one that suits you.' });
text_in('+15125550181', 'My water heater is leaking');
ok wait_until(sub { grep { form_body($_->{body}) =~ /two times open/ } @{ texts_to('%2B15125550181') } }, 15),
    'the assistant\'s reply reaches the fake Twilio';
my $c = chats();
is scalar(@$c), 3, 'three calls to the fake OpenAI: tools, tools, words';
is $c->[0]{model}, sql("SELECT nmc.setting('openai_model')"), 'the configured model is asked';
is_deeply [ sort map { $_->{function}{name} } @{ $c->[0]{tools} } ],
    [qw(book_appointment check_service_area find_open_slots request_human save_customer_details)], 'with the five tools';
is $c->[0]{messages}[-1]{content}, 'My water heater is leaking', 'the customer\'s text is in the request';
my @results = map { $_->{content} } grep { $_->{role} eq 'tool' } @{ $c->[1]{messages} };
is $json->decode($results[1])->{in_area}, JSON::PP::true, 'the area check ran and its result went back to the model';
is sql("SELECT name FROM nmc.customers WHERE phone = '+15125550181'"), 'Jane Doe', 'the name landed on the customer';
my $slots = $json->decode((grep { $_->{role} eq 'tool' } @{ $c->[2]{messages} })[-1]{content})->{slots};
is scalar(@$slots), 2, 'find_open_slots offered two times';
like form_body(texts_to('%2B15125550181')->[-1]{body}), qr/automated assistant/, 'the first assistant text says it is automated';
is sql(qq{SELECT count(*) FROM nmc.jobs WHERE kind = 'openai.chat' AND parent_id IS NOT NULL
          AND payload ->> 'conversation_id' = (SELECT id::text FROM nmc.conversations cv WHERE customer_id = (SELECT id FROM nmc.customers WHERE phone = '+15125550181'))}),
   2, 'the later model calls are children of the first';

# 2. The customer picks; the model books; the confirmation is written from the row.
script({ tool_calls => [ call('call_d', 'book_appointment', { starts_at => $slots->[1]{starts_at} }) ] });
text_in('+15125550181', 'The second one');
ok wait_until(sub { grep { form_body($_->{body}) =~ /^You're booked with/ } @{ texts_to('%2B15125550181') } }, 15),
    'the booking confirmation reaches the fake Twilio';
my ($confirmation) = grep { /^You're booked/ } map { form_body($_->{body}) } @{ texts_to('%2B15125550181') };
is $confirmation, sql(qq{SELECT nmc.appointment_confirmation(a.id) FROM nmc.appointments a JOIN nmc.customers c ON c.id = a.customer_id
                         WHERE c.phone = '+15125550181'}), '… word for word the confirmation of the appointment row';
is sql(qq{SELECT to_char(lower(a.during) AT TIME ZONE 'America/Chicago', 'YYYY-MM-DD"T"HH24:MI') FROM nmc.appointments a
          JOIN nmc.customers c ON c.id = a.customer_id WHERE c.phone = '+15125550181'}), $slots->[1]{starts_at}, '… for the slot picked';
is sql(q{SELECT l.status FROM nmc.leads l JOIN nmc.customers c ON c.id = l.customer_id WHERE c.phone = '+15125550181'}) // 'no lead',
   'no lead', 'a customer who only texted has no lead (leads come from missed calls)';
is scalar(@{ chats() }), 4, 'the model was not asked to confirm: one call for the booking';

# 3. With a radius: the address is geocoded by the fake Google Maps, and it is too far.
sql("UPDATE nmc.businesses SET service_postal_codes = NULL, service_radius_km = 25, service_lat = 30.2672, service_lng = -97.7431 WHERE id = '$business'");
fake(POST => '/_fake/maps/geocode', { address => '500 Commerce St, Dallas TX', lat => 32.7767, lng => -96.7970,
                                      formatted_address => '500 Commerce St, Dallas, TX 75202, USA', postal_code => '75202' });
script({ tool_calls => [ call('call_e', 'check_service_area', { address => '500 Commerce St, Dallas TX' }) ] },
       { content => 'Sorry, Dallas is outside the area we serve.' });
text_in('+15125550182', 'Can you come to Dallas?');
ok wait_until(sub { grep { form_body($_->{body}) =~ /outside the area/ } @{ texts_to('%2B15125550182') } }, 15),
    'the out-of-area answer reaches the customer';
ok scalar(grep { $_->{query} =~ /address=500(%20|\+)Commerce/ } @{ fake_requests(path => 'geocode/json') }),
   'the address was geocoded by the fake Google Maps';
my $area = $json->decode((grep { $_->{role} eq 'tool' } @{ chats()->[-1]{messages} })[-1]{content});
is $area->{in_area}, JSON::PP::false, 'about 290 km away: outside the 25 km radius, and the model was told';
is sql(q{SELECT intake ->> 'in_area' FROM nmc.conversations cv JOIN nmc.customers c ON c.id = cv.customer_id WHERE c.phone = '+15125550182'}),
   'false', 'the conversation remembers the address is out of area';

# 4. The fake OpenAI fails every attempt: the customer is told a person will text, the owner is alerted.
fake(POST => '/_fake/faults', { match => 'chat/completions', status => 500, count => 3 });
text_in('+15125550183', 'Hello, is anyone there?');
ok wait_until(sub { grep { form_body($_->{body}) =~ /will text you shortly/ } @{ texts_to('%2B15125550183') } }, 20),
    'after the provider failed three times the customer is told a person will text';
is sql(q{SELECT mode FROM nmc.conversations cv JOIN nmc.customers c ON c.id = cv.customer_id WHERE c.phone = '+15125550183'}), 'human',
   '… and the conversation is a person\'s';
like sql(q{SELECT body ->> 'reason' FROM nmc.events WHERE type = 'conversation.handoff' ORDER BY created_at DESC, seq DESC LIMIT 1}), qr/AI provider failed/,
   '… with a conversation.handoff event for the owner';

sql(q{SELECT nmc.configure('{"job_backoff_base_ms": "1000", "job_backoff_max_ms": "300000"}')});
done_testing;
