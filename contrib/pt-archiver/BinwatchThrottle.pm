package BinwatchThrottle;

# pt-archiver plugin: holds pt-archiver while the binwatch daemon's throttle API
# (GET $BINWATCH_URL/check/$BINWATCH_APP, freno-compatible) does not answer 200.
#
# Load it either way (folder in PERL5LIB):
#   --source h=...,D=db,t=tbl,m=BinwatchThrottle   documented plugin interface: new(dbh, db, tbl),
#       before_begin, is_archivable, before_delete, before_bulk_delete, before_insert,
#       before_bulk_insert, custom_sth, custom_sth_bulk, after_finish. pt-archiver then
#       scans with "strictly greater than" (see EXTENDING in its manual).
#   --plugin BinwatchThrottle   general plugin: new(src, dst, opts) + statistics(); this
#       module then attaches a source-side instance to the source table itself (pt-archiver
#       3.2.1 reads $src->{plugin} for every row), which leaves the scan unchanged.
#
# Environment:
#   BINWATCH_URL        daemon address (default http://127.0.0.1:9874)
#   BINWATCH_APP        app name asked about (default pt-archiver)
#   BINWATCH_FAIL_SAFE  pause (default) or continue, when the daemon is unreachable
#   BINWATCH_CHECK_MS   at most one check per this many ms (default 250)
#   BINWATCH_CHECK_ROWS at most one check per this many rows (default 1)
#   BINWATCH_MAX_SLEEP_MS  cap of one throttle sleep (default 2000)
#
# Answers: 200 go (a body asking for a throttle is honoured); 429 throttle at Ratio r: sleep
# r/(1-r) times the time worked since the last check (capped); 429 pause/stop, 417 forbidden,
# 404 no metric yet, or 429 without a readable body: wait, polling every 250 ms. "stop" waits
# too: at critical level the daemon's sentinel file is what stops pt-archiver. 5xx, other
# statuses and connection errors: BINWATCH_FAIL_SAFE. Each change is said once on STDERR.

use strict;
use warnings;

use HTTP::Tiny;
use JSON::PP ();
use Time::HiRes ();

our $VERSION = '0.1.0';

my $POLL_S = 0.25;

sub new {
   my ( $class, %args ) = @_;
   my $fail_safe = lc( $ENV{BINWATCH_FAIL_SAFE} // 'pause' );
   die "BinwatchThrottle: BINWATCH_FAIL_SAFE must be pause or continue, not '$fail_safe'\n"
      unless $fail_safe eq 'pause' || $fail_safe eq 'continue';
   my $url = $ENV{BINWATCH_URL} || 'http://127.0.0.1:9874';
   $url =~ s{/+\z}{};
   my $app = $ENV{BINWATCH_APP} || 'pt-archiver';
   my $self = bless {
      %args,
      url        => $url,
      app        => $app,
      fail_safe  => $fail_safe,
      every_ms   => _number( 'BINWATCH_CHECK_MS', 250 ),
      every_rows => _number( 'BINWATCH_CHECK_ROWS', 1 ),
      max_sleep  => _number( 'BINWATCH_MAX_SLEEP_MS', 2000 ) / 1000,
      # 1 s timeouts: a hung daemon cannot stall a row much longer than that.
      http       => HTTP::Tiny->new( timeout => 1, agent => "binwatch-pt-archiver/$VERSION" ),
      json       => JSON::PP->new,
      rows       => 0,
      last_check => undef,
      told       => '',       # the state last said on STDERR
      held_since => undef,    # when the current hold or throttle began
      held_total => 0,
   }, $class;

   # Loaded with --plugin: attach a source-side instance unless m= already gave one.
   if ( ref $args{src} eq 'HASH' && !$args{src}->{plugin} ) {
      $args{src}->{plugin} = $class->new(
         dbh => $args{src}->{dbh},
         db  => $args{src}->{D},
         tbl => $args{src}->{t},
      );
      $self->{source_instance} = $args{src}->{plugin};
   }
   return $self;
}

sub _number {
   my ( $name, $default ) = @_;
   my $v = $ENV{$name};
   return $default unless defined $v && length $v;
   die "BinwatchThrottle: $name must be a non-negative number, not '$v'\n"
      unless $v =~ /\A\d+(?:\.\d+)?\z/;
   return $v;
}

sub before_begin {
   my ( $self, %args ) = @_;
   $self->{cols} = $args{cols};
   return;
}

sub is_archivable {
   my ( $self, %args ) = @_;
   $self->throttle();
   return 1;
}

sub before_delete      { return; }    # is_archivable already asked for this row
sub before_bulk_delete { my ($self) = @_; $self->throttle(); return; }
sub before_insert      { my ($self) = @_; $self->throttle(); return; }
sub before_bulk_insert { my ($self) = @_; $self->throttle(); return; }
sub custom_sth         { return; }    # undef: pt-archiver's own INSERT
sub custom_sth_bulk    { return; }

sub after_finish {
   my ($self) = @_;
   $self->_finish_hold( Time::HiRes::time() ) if defined $self->{held_since};
   return;
}

# General-plugin hook (--plugin): says how long the job was held in total.
sub statistics {
   my ( $self, $stats, $start ) = @_;
   my $held = $self->{held_total};
   $held += $self->{source_instance}->{held_total} if $self->{source_instance};
   printf STDERR "binwatch throttle: '%s' was held %.1f s in total\n", $self->{app}, $held if $held > 0;
   return;
}

# Asks the daemon when the last check is at least every_rows rows and every_ms ms old, and
# waits as long as the answer says.
sub throttle {
   my ($self) = @_;
   $self->{rows}++;
   my $now = Time::HiRes::time();
   if ( defined $self->{last_check} ) {
      return if $self->{rows} < $self->{every_rows};
      return if ( $now - $self->{last_check} ) * 1000 < $self->{every_ms};
   }
   my $worked = defined $self->{last_check} ? $now - $self->{last_check} : 0;
   while (1) {
      my $d = $self->check();
      my $kind = $d->{action};
      if ( $kind eq 'allow' || ( $kind eq 'unreachable' && $self->{fail_safe} eq 'continue' ) ) {
         $self->_tell( $d, $kind eq 'allow' ? 'run' : 'run-unreachable' );
         $self->_finish_hold( Time::HiRes::time() ) if defined $self->{held_since};
         last;
      }
      $self->{held_since} //= Time::HiRes::time();
      if ( $kind eq 'throttle' && $d->{ratio} < 1 ) {
         $self->_tell( $d, 'throttle' );
         my $sleep = $worked * $d->{ratio} / ( 1 - $d->{ratio} );
         $sleep = $self->{max_sleep} if $sleep > $self->{max_sleep};
         Time::HiRes::sleep($sleep) if $sleep > 0;
         last;
      }
      $self->_tell( $d, 'hold' );
      Time::HiRes::sleep($POLL_S);
      $worked = 0;
   }
   $self->{rows}       = 0;
   $self->{last_check} = Time::HiRes::time();
   return;
}

# One GET /check/{app}: { action => allow|throttle|pause|stop|forbidden|no-metric|unreachable,
# ratio, message, status }. Missing or unparsable fields never make an answer more permissive.
sub check {
   my ($self) = @_;
   my $app = $self->{app};
   $app =~ s/([^A-Za-z0-9\-_.~])/sprintf('%%%02X', ord $1)/ge;
   my $res = $self->{http}->get("$self->{url}/check/$app");
   return decide( $res->{status}, $res->{content} // '', $res->{reason} );
}

sub decide {
   my ( $status, $content, $reason ) = @_;
   if ( $status == 599 ) {    # HTTP::Tiny's own failure: content holds the error
      my $why = $content;
      $why =~ s/\s+\z//;
      return { action => 'unreachable', status => 0, message => $why || 'no answer' };
   }
   my $body = eval { JSON::PP->new->decode($content) };
   $body = undef unless ref $body eq 'HASH';
   my $action  = $body && defined $body->{Action} && !ref $body->{Action} ? $body->{Action} : '';
   my $message = $body && defined $body->{Message} && !ref $body->{Message} ? $body->{Message} : '';
   my $ratio   = $body && defined $body->{Ratio} && !ref $body->{Ratio}
              && $body->{Ratio} =~ /\A-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\z/ ? 0 + $body->{Ratio} : undef;
   my $throttle = $action eq 'throttle' && defined $ratio && $ratio > 0;
   my $d = sub {
      my ( $a, $fallback ) = @_;
      return { action => $a, status => $status, ratio => ( $throttle ? ( $ratio > 1 ? 1 : $ratio ) : 0 ),
               message => length $message ? $message : $fallback };
   };
   if ( $status == 200 ) {
      return $d->( 'throttle', "HTTP 200 asks for a throttle" ) if $throttle;
      return $d->( 'allow', 'allowed' );
   }
   if ( $status == 429 ) {
      return $d->( 'throttle', 'HTTP 429 asks for a throttle' ) if $throttle;
      return $d->( 'pause', 'HTTP 429 without a readable body' ) unless $body;
      return $d->( 'stop', 'HTTP 429 asks to stop' ) if $action eq 'stop';
      return $d->( 'forbidden', 'HTTP 429 says forbidden' ) if $action eq 'forbidden';
      return $d->( 'pause', 'HTTP 429 asks to pause' );
   }
   return $d->( 'forbidden', 'forbidden by policy (HTTP 417)' ) if $status == 417;
   return $d->( 'no-metric', 'no metric yet (HTTP 404)' ) if $status == 404;
   return { action => 'unreachable', status => $status, ratio => 0, message => "HTTP $status" };
}

sub _finish_hold {
   my ( $self, $now ) = @_;
   $self->{held_total} += $now - $self->{held_since};
   $self->{held_since} = undef;
   return;
}

# One line on STDERR per change of state (not per check).
sub _tell {
   my ( $self, $d, $mode ) = @_;
   my $key = "$mode/$d->{action}";
   $key .= sprintf '/%.1f', $d->{ratio} if $mode eq 'throttle';
   return if $key eq $self->{told};
   my $before = $self->{told};
   $self->{told} = $key;
   my $app = "'$self->{app}'";
   my $line;
   if ( $d->{action} eq 'unreachable' ) {
      $line = "daemon $self->{url} unreachable ($d->{message}): "
            . ( $mode eq 'hold' ? "pausing $app (fail-safe pause)" : "$app runs on (fail-safe continue)" );
   }
   elsif ( $mode eq 'run' ) {
      return if $before eq '';
      if ( defined $self->{held_since} ) {
         my $how = $before =~ /\Athrottle/ ? 'throttled' : 'paused';
         $line = sprintf "resuming %s after %.1f s %s", $app, Time::HiRes::time() - $self->{held_since}, $how;
      }
      else {
         $line = "daemon $self->{url} answers again: $app runs";
      }
   }
   elsif ( $mode eq 'throttle' ) {
      $line = sprintf "throttling %s (held %.0f%% of the time): %s", $app, 100 * $d->{ratio}, $d->{message};
   }
   else {
      my $why = $d->{action} eq 'stop'      ? ' (the daemon says stop: critical; its sentinel file stops pt-archiver)'
              : $d->{action} eq 'forbidden' ? ' (forbidden by policy)'
              :                               '';
      $line = "pausing $app$why: $d->{message}";
   }
   print STDERR "binwatch throttle: $line\n";
   return;
}

1;
